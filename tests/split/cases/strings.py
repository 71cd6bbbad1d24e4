a = """
not = a statement
else:
# not a comment
'''
\"""
""x
"" """
b = '''it''s
'' still '\'''
still = 1
'''
c = """"quoted at the start"""
d = """ends with an escaped quote\""""
e = 'a # not a comment' # a comment with 'quotes" and """
f1 = "it's"; g = 'say "hi"'
h = '\'' + "\"" + '\\' + "\\"
i = r'\'' + r"\"" + r'\\' + R"\\" + r'''\''''
j = rb'x' + Rb"y" + bR'''z''' + BR"""w""" + br'v'
k = f'{x}' + fR"{y}" + F'''{z}''' + rf"""{w}
col0 = "in an f-string"
""" + Fr'x' + u'x' + U"x" + b"x" + B'x'
l = '' + "" + ''''''+""""""
m = ''
n = """"""
o = 'continued \
not = a statement'
p = """\
"""
q = "x"'y'"""z"""
r = {"a": '(', "b": "[", 'c': '{'}
s = ')]}'
t = 1
