"""The expression language (DESIGN section 5): one language for formulas, defaults,
validations, visibility rules, row and view filters, workflow guards, automation
conditions and masks.

``compile_expression`` parses and type-checks once (cached); the result evaluates in
Python (``evaluate``) or compiles to SQLAlchemy Core (``to_sql``) with the same SQL-like
NULL logic. See ``docs`` in :mod:`jimu.platform.expressions.functions` for the functions.
"""

from jimu.platform.expressions.compiled import (
    CompiledExpression,
    Env,
    clear_cache,
    compile_expression,
    evaluate_literal_or_expr,
)
from jimu.platform.expressions.deps import check_formula_cycles
from jimu.platform.expressions.functions import BUILTINS, FunctionDef

__all__ = [
    "BUILTINS",
    "CompiledExpression",
    "Env",
    "FunctionDef",
    "check_formula_cycles",
    "clear_cache",
    "compile_expression",
    "evaluate_literal_or_expr",
]
