"""Front ends: formula text (the Lark grammar) and SymPy expressions to the IR (`ir.graph.Parsed`).
Every input name enters through `front.names.check_input_name`.
"""
