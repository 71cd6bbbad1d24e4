a = (
1,
# a column-0 comment inside brackets
else_ = 2,
)
b = [
x
for x in y
if x
]
c = {
'k':
(1,
[2,
{3}
])
}
d = f(
    a,
else:
)
e = 1
)
f = 2
]]]}})
g = 3
h = ((([
]))) + (
)
i = 4
