a = 1
if a:    belse:
    c
d = "x\
y"
e = 2
f = 3