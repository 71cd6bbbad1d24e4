x = "unterminated
y = 1
z = 'also
w = """
"""
v = 2
