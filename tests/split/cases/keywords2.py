try:
    pass
finally	:
    pass
try:
    pass
except\
:
    pass
final = 1
