x = 1
@decorator
def f():
    pass
@a

# comment between decorators
@b.c(1,
2)
@d

class C:
    pass
@e
async def g():
    pass
def h():
    pass
@f
def i(): pass
@f(
)
def j(): pass
y = 2
