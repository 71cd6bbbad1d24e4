# A comment before the first statement: the first batch starts at byte 0,
# so nothing is reported for it.

import sys
x = 1
    # an indented comment

# a column-0 comment and blank lines never start a statement
y = [x
for x in range(3)]
if x:
    pass

    z = 2
  # odd indent comment
print(x); print(y)
(x)
-1
[]
0x10
'expr'
