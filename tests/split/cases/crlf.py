if x:
    a
# note
else:
    b
if x:
    a

# comment between

elif y:
    b
  # indented comment
elif z :
    c
else :
    d
try:
    a
except Exception:
    b
except(ValueError):
    c
except:
    d
# comment
else:
    e

finally:
    f
try:
    pass
finally:
    pass
for i in x:
    pass
else:
    pass
while x:
    break
else	:
    pass
z = """a
else:
b"""
x = 1 + \
2
y = (
3)
@d

def f(): pass
w = 1
