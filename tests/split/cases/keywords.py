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
elsewhere = 1
else_ = 2
elif2 = 3
elifx = 4
exceptional = 5
except_ = 6
finally_ = 7
finallyx = 8
fin = 9
e = 10
f(11)
f"12"
f'{e}'
fr"14"
e
f
els
elseé = 15
finally2 = 16
