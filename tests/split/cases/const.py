from micropython import const
_A = const(1)
B = const(2)
_C=const(3)
D	= const (4)
_E = const(5)  # a comment
F = const(6);
_G = \
    const(7)
_H = const(
    8
)
_I = const((1 << 3) | 9)
J = const(1) + 1
K = (const(2))
L = const(1); M = 2
N == const(1)
O = constant(1)
P = const[1]
Q = const(1).real
R.x = const(1)
S = T = const(1)
U: int = const(1)
_V = const(1)  # x
    # indented comment
W = 2
