"""The formula language: precedence and associativity, programs, names and inputs, errors."""

from __future__ import annotations

import math

import pytest

import adcompile as adc
from adcompile.front.parse import grammar_path, parse
from adcompile.ir.graph import pformat

#: Every expression below is evaluated at these inputs (declared in this order).
NAMES = ("x", "y", "z", "a", "b")
X, Y, Z, A, B = 2.0, 3.0, 0.5, 1.0, 0.0


def value(text: str, inputs: tuple[str, ...] = NAMES, **at: float) -> float:
    """The formula's value through the NumPy backend, at NAMES' values unless given."""
    point = {"x": X, "y": Y, "z": Z, "a": A, "b": B, **at}
    f = adc.compile(text, inputs=inputs, backend="numpy")
    result: float = f(*(point[n] for n in inputs))
    return result


def same_ir(text: str, other: str) -> bool:
    """Whether two texts parse to the same IR (same nodes in the same order)."""
    p, q = parse(text), parse(other)
    return pformat(p.graph, p.outputs) == pformat(q.graph, q.outputs)


# --- precedence and associativity -------------------------------------------------------------

PRECEDENCE = [
    # (text, its explicit parenthesization, the value at NAMES)
    ("-x^2", "-(x^2)", -(X**2)),
    ("-2^2", "-(2^2)", -4.0),
    ("x^y^z", "x^(y^z)", X ** (Y**Z)),
    ("x**y**z", "x^(y^z)", X ** (Y**Z)),
    ("2^-x", "2^(-x)", 2.0**-X),
    ("x^-y^z", "x^(-(y^z))", X ** -(Y**Z)),
    ("x/y/z", "(x/y)/z", X / Y / Z),
    ("x-y-z", "(x-y)-z", X - Y - Z),
    ("x - -y", "x - (-y)", X + Y),
    ("x*y^2", "x*(y^2)", X * Y**2),
    ("x+y*z", "x+(y*z)", X + Y * Z),
    ("x/y*z", "(x/y)*z", X / Y * Z),
    ("2*-x", "2*(-x)", -2.0 * X),
    ("-x*y", "(-x)*y", -X * Y),
    ("+x", "x", X),
    ("x + 1 > y", "(x + 1) > y", 0.0),
    ("x*2 == y + 1", "(x*2) == (y + 1)", 1.0),
    ("x*2 != y + 2", "(x*2) != (y + 2)", 1.0),
    ("not x < y", "not (x < y)", 0.0),
    ("not b and b", "(not b) and b", 0.0),
    ("a or a and b", "a or (a and b)", 1.0),
    ("not a or a", "(not a) or a", 1.0),
    ("b and a or a", "(b and a) or a", 1.0),
    ("not not a", "not (not a)", 1.0),
    ("x < y and y < x + 2", "(x < y) and (y < (x + 2))", 1.0),
]


@pytest.mark.parametrize(("text", "explicit", "want"), PRECEDENCE)
def test_precedence_and_associativity(text: str, explicit: str, want: float) -> None:
    assert same_ir(text, explicit), f"{text!r} does not parse like {explicit!r}"
    got = value(text)
    assert math.isclose(got, want, rel_tol=1e-15), f"{text!r} = {got}, want {want}"


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_comparisons_do_not_chain(op: str) -> None:
    text = f"x {op} y {op} z"
    with pytest.raises(adc.ParseError) as info:
        parse(text)
    err = info.value
    assert (err.line, err.column) == (1, text.rindex(op) + 1), str(err)


@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_chained_comparison_error_says_why(op: str) -> None:
    text = f"x {op} y {op} z"
    with pytest.raises(adc.ParseError) as info:
        parse(text)
    assert "chain" in info.value.message, f"{text!r}: {info.value.message}"


def test_mixed_comparisons_do_not_chain() -> None:
    with pytest.raises(adc.FormulaError):
        parse("x < y == z")
    assert value("(x < y) == (z < x)") == 1.0


# --- programs -----------------------------------------------------------------------------------


def test_statements_on_lines_and_semicolons() -> None:
    text = "a = x*2\nb = a + y; c = b*a\nc - 1"
    assert value(text) == (2 * X + Y) * 2 * X - 1
    f = adc.compile(text, backend="numpy")
    assert f.inputs == ("x", "y")


def test_last_assignment_is_the_output() -> None:
    f = adc.compile("a = x + 1\nb = a * 2", backend="numpy")
    assert f.outputs == ("b",)
    assert f(1.5) == 5.0


def test_comments_blank_lines_and_separators() -> None:
    text = "# header\n\n;a = x + 1  # trailing comment\n\n\n; ;b = a*a # more\nb  # out\n\n"
    assert value(text) == (X + 1) ** 2


def test_crlf_and_cr_line_endings() -> None:
    assert value("a = x + 1\r\nb = a * y\r\nb\r\n") == (X + 1) * Y
    assert value("a = x + 1\rb = a * y\rb") == (X + 1) * Y


def test_indented_lines() -> None:
    text = "    a = x + 1\n\tb = a * 2\n  \t b - y\n"
    assert value(text) == (X + 1) * 2 - Y


def test_newline_ends_a_statement_even_inside_parentheses() -> None:
    with pytest.raises(adc.ParseError) as info:
        parse("a = (x +\n y)")
    assert info.value.line == 1
    assert "parenthesis" in info.value.message


def test_only_the_last_statement_may_be_an_expression() -> None:
    with pytest.raises(adc.ParseError) as info:
        parse("x + 1\ny")
    assert info.value.line == 1


@pytest.mark.parametrize("text", ["", "   ", "# nothing\n", ";;\n"])
def test_empty_programs_are_errors(text: str) -> None:
    with pytest.raises(adc.ParseError, match="empty"):
        parse(text)


def test_several_outputs() -> None:
    f = adc.compile("a = x * 2\na, a + y, sin(x)", backend="numpy")
    assert len(f.outputs) == 3 and f.outputs[0] == "a"
    got = f(X, Y)
    assert got == (2 * X, 2 * X + Y, math.sin(X))
    with pytest.raises(ValueError, match="single output"):
        f.value_and_grad()


# --- names, constants and inputs -------------------------------------------------------------


def test_constants_pi_and_e() -> None:
    assert value("pi") == math.pi
    assert value("e") == math.e
    assert value("2*pi*x") == 2 * math.pi * X
    assert adc.compile("e^x", backend="numpy").inputs == ("x",)


def test_assignment_shadows_a_constant() -> None:
    text = "d = x + 1\ne = -d\ne * 2"
    assert value(text) == -(X + 1) * 2
    assert adc.compile(text, backend="numpy").inputs == ("x",)
    assert value("pi = 3; pi * x") == 3 * X


def test_default_inputs_are_free_names_in_order_of_first_appearance() -> None:
    f = adc.compile("t = y + x*z\nt * x + w", backend="numpy")
    assert f.inputs == ("y", "x", "z", "w")
    assert adc.compile("a = 2\nb = a * q\nb", backend="numpy").inputs == ("q",)


def test_declared_inputs_fix_the_order() -> None:
    f = adc.compile("x * y^2", inputs=["y", "x"], backend="numpy")
    assert f.inputs == ("y", "x")
    assert f(3.0, 2.0) == 18.0
    assert f(y=3.0, x=2.0) == 18.0
    _, grad = f.value_and_grad()(3.0, 2.0)
    assert tuple(grad) == (12.0, 9.0) and grad._fields == ("y", "x")


def test_unused_declared_input_has_zero_gradient() -> None:
    f = adc.compile("x^2", inputs=["x", "w"], backend="numpy")
    val, grad = f.value_and_grad()(3.0, 7.0)
    assert val == 9.0
    assert grad.x == 6.0 and grad.w == 0.0


def test_use_before_assignment_is_an_error() -> None:
    with pytest.raises(adc.UndefinedNameError) as info:
        parse("b = a + 1\na = 2\nb")
    assert (info.value.line, info.value.column) == (1, 5)
    assert "'a'" in info.value.message


@pytest.mark.parametrize(
    "text", ["x + q", "where(1, x, q)", "where(x > 0, x, q)", "a = q; a", "a = x\nqq * a"]
)
def test_undefined_names_with_declared_inputs(text: str) -> None:
    with pytest.raises(adc.UndefinedNameError) as info:
        adc.compile(text, inputs=["x"], backend="numpy")
    assert "q" in info.value.message and "inputs are x" in info.value.message


def test_undefined_name_suggests_a_close_one() -> None:
    with pytest.raises(adc.UndefinedNameError, match="did you mean 'alpha'"):
        adc.compile("alpah * 2", inputs=["alpha"], backend="numpy")


def test_function_name_used_as_a_variable() -> None:
    with pytest.raises(adc.UndefinedNameError, match="function"):
        parse("sin + 1")


@pytest.mark.parametrize(
    "names",
    [
        ("print", "math"),
        ("np", "t0"),
        ("b_x", "x_"),
        ("and_", "order"),
        ("notx", "android"),
    ],
)
def test_python_builtins_and_generated_names_are_plain_identifiers(
    names: tuple[str, str],
) -> None:
    u, v = names
    f = adc.compile(f"{u} * {v}^2 + {u}", backend="numpy")
    assert f.inputs == names
    val, grad = f.value_and_grad()(2.0, 3.0)
    assert val == 20.0 and tuple(grad) == (10.0, 12.0), (val, grad)
    namespace: dict[str, object] = {}
    exec(f.value_and_grad().source, namespace)  # the generated code is valid Python
    run = namespace["value_and_grad"]
    assert run(2.0, 3.0) == (20.0, 10.0, 12.0)  # type: ignore[operator]


@pytest.mark.parametrize("names", [("class", "lambda"), ("if", "def"), ("None", "True")])
def test_python_keywords_are_not_input_names(names: tuple[str, str]) -> None:
    u, v = names
    with pytest.raises(adc.UndefinedNameError, match=f"input name '{u}' is a Python keyword"):
        adc.compile(f"{u} * {v}^2 + {u}")
    # as names of intermediate values they are plain identifiers
    f = adc.compile(f"{u} = x^2; {v} = {u} + 1; {v} * {u}")
    assert f.value_and_grad("x")(2.0) == (20.0, 36.0)


def test_numbers() -> None:
    assert value("2.5 + .5 + 3. + 1e-3 + 1E+2 + 2e0") == 2.5 + 0.5 + 3.0 + 1e-3 + 100 + 2
    with pytest.raises(adc.ConstantError):
        parse("1e400 * x")
    with pytest.raises(adc.ConstantError):
        parse("2e+ * x")


# --- functions ----------------------------------------------------------------------------------


def test_power_spellings_agree() -> None:
    assert same_ir("x^y", "x**y")
    assert same_ir("x^y", "pow(x, y)")


def test_detach_is_stop_gradient() -> None:
    assert same_ir("detach(x) * y", "stop_gradient(x) * y")


@pytest.mark.parametrize(
    ("text", "suggestion"), [("sinn(x)", "sin"), ("Sin(x)", "sin"), ("expp(x)", "exp")]
)
def test_unknown_function_suggests_a_name(text: str, suggestion: str) -> None:
    with pytest.raises(adc.UnknownFunctionError) as info:
        parse(text)
    assert f"did you mean '{suggestion}'" in info.value.message
    assert (info.value.line, info.value.column) == (1, 1)


def test_operators_are_not_callable_by_name() -> None:
    for name in ("add", "mul", "lt", "neg"):
        with pytest.raises(adc.UnknownFunctionError):
            parse(f"{name}(x, y)")


@pytest.mark.parametrize(
    "text", ["sin(x, y)", "sin()", "atan2(x)", "where(x, y)", "hypot(x, y, z)", "pow(x)"]
)
def test_arity_errors(text: str) -> None:
    with pytest.raises(adc.ArityError) as info:
        parse(text)
    assert "argument" in info.value.message and info.value.column == 1


# --- error positions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column", "error"),
    [
        ("a = 1\nb = sinn(a)\nb", 2, 5, adc.UnknownFunctionError),
        ("x +", 1, 4, adc.ParseError),
        ("x & y", 1, 3, adc.ParseError),
        ("sin x", 1, 5, adc.ParseError),
        ("a = 2\n  (x", 2, 5, adc.ParseError),
        ("x\n+ y", 1, 1, adc.ParseError),
    ],
)
def test_error_positions(text: str, line: int, column: int, error: type[adc.FormulaError]) -> None:
    with pytest.raises(error) as info:
        parse(text)
    err = info.value
    assert (err.line, err.column) == (line, column), str(err)
    caret = str(err).splitlines()[-1]
    assert caret.strip() == "^" and len(caret) - len("    ") == column, repr(str(err))


def test_grammar_file_exists() -> None:
    path = grammar_path()
    assert path.is_file(), path
    text = path.read_text(encoding="utf-8")
    assert "start:" in text and "-> pow" in text


def test_first_problem_in_the_text_wins() -> None:
    # the IR is built during the parse: a semantic error is kept while the parse goes on,
    # so a later syntax error, or an earlier read of a name assigned later, still wins
    with pytest.raises(adc.FormulaError, match="unexpected"):
        parse("a = sin(1, 2)\nb = a +* 2")
    with pytest.raises(adc.FormulaError, match="read before it is assigned on line 3") as info:
        parse("a = t + 1\nb = frob(a)\nt = 2\nb")
    assert (info.value.line, info.value.column) == (1, 5)
    with pytest.raises(adc.FormulaError, match="unknown function 'frob'"):
        parse("a = 1\nb = frob(a)\nt = a\nb")


def test_parallel_parses_do_not_mix() -> None:
    from concurrent.futures import ThreadPoolExecutor

    texts = [" + ".join(f"v{k}_{j}" for j in range(300)) for k in range(8)]

    def names(k: int) -> tuple[str, ...]:
        return parse(texts[k]).inputs

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(names, list(range(8)) * 4))
    assert got == [tuple(f"v{k}_{j}" for j in range(300)) for k in range(8)] * 4
