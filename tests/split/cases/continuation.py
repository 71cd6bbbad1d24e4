a = 1 + \
2
b = \
else_ = \
    3
c = 4 # comment \
d = 5
\
e = 6
f = 7 \
   + 8
g = 9
if x:
    pass
\
else:
    pass
h = 10
i = '\
j = 11'
k = 12
