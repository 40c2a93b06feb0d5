"""Per-rule conda environments: each rule's env declares what its script needs, pinned as in
pyproject.toml, and the rule scripts import the library from the repository.

The envs take only Python and pip from conda (conda-forge) and every package from PyPI, with
the ``==`` pins of pyproject.toml, the one place the versions are set: the envs a cluster user
creates hold the versions the tests ran with, and the tests below check that they agree.

Conda is not needed. The rules come from workflow/rules/*.smk, the envs from envs/*.yaml, and
what a rule needs from the code its script runs, read with ast (nothing imported): the modules
the script imports, the stage named as the rule (blendphot.stages), and the functions it calls
by name, transitively; each function adds the imports in its body, each module its
module-level imports and its parent packages' (lazy package exports followed). Each env must
declare what its rules need and nothing they do not. A second check imports each env's stages
in a fresh interpreter where the project's other third-party packages cannot be imported.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from blendphot.stages import all_stages

from .conftest import ROOT

RULES_DIR = ROOT / "workflow" / "rules"
METHODS_DIR = ROOT / "workflow" / "methods"
PACKAGE = "blendphot"
STAGES = all_stages()
ENVS = sorted((ROOT / "envs").glob("*.yaml"))
CONDA_PACKAGES = {"python", "pip"}
"""The only conda packages an env lists: the interpreter and pip; the rest comes from PyPI."""
CHANNELS = ["conda-forge", "nodefaults"]
PIP_PIN = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9._-]+(,[A-Za-z0-9._-]+)*\])?==[0-9][^\s,;=<>!~*]*"
)
"""A pip entry: a PyPI name, extras if any, and an exact ``==`` pin (no wildcard)."""
RUNTIME_ONLY = {"python", "pip", "tensorboard", "jaxlib"}
"""Env entries no import shows: the interpreter, pip, TensorBoard (the Keras callback
loads it at run time) and jaxlib (the compiled backend jax imports)."""
RUNTIME_ONLY_IN = {"photutils.yaml": {"scikit-image", "scipy"}}
"""Per env, entries no import of the library shows: photutils imports scikit-image (its
watershed) and scipy inside its deblending, when it runs; pinned there all the same."""
# The same software under another name: the CPU build of the TensorFlow wheel.
ALIASES = {"tensorflow-cpu": "tensorflow"}


@dataclass(frozen=True)
class Rule:
    """A rule as declared in a .smk file: where, its conda env, its script, whether shell."""

    name: str
    smk: Path
    conda: Path | None
    script: Path | None
    shell: bool
    module: str | None = None
    """The library module a shell rule runs (``python -m MODULE``), where it runs one."""


def rule_blocks(text: str) -> list[tuple[str, str]]:
    """(name, body) of every ``rule name:`` in Snakefile text, nested ones included."""
    lines = text.splitlines()
    blocks = []
    for i, line in enumerate(lines):
        match = re.match(r"^(\s*)rule (\w+):", line)
        if not match:
            continue
        indent, body = len(match[1]), []
        for following in lines[i + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            body.append(following)
        blocks.append((match[2], "\n".join(body)))
    return blocks


def directive(body: str, name: str) -> str | None:
    """The string given to directive ``name:`` in a rule body (same or next line), or None."""
    match = re.search(rf"^\s*{name}:\s*\n?\s*[\"']([^\"']+)[\"']", body, re.M)
    return match[1] if match else None


def workflow_rules() -> list[Rule]:
    """Every rule of workflow/rules/*.smk and of the shipped methods of one's own
    (workflow/methods/*.smk; paths resolved against its .smk file)."""
    rules = []
    for smk in sorted(RULES_DIR.glob("*.smk")) + sorted(METHODS_DIR.glob("*.smk")):
        for name, body in rule_blocks(smk.read_text()):
            conda, script = directive(body, "conda"), directive(body, "script")
            module = re.search(rf"python -m ({PACKAGE}[\w.]*)", body)
            rules.append(
                Rule(
                    name,
                    smk,
                    (smk.parent / conda).resolve() if conda else None,
                    (smk.parent / script).resolve() if script else None,
                    re.search(r"^\s*shell:", body, re.M) is not None,
                    module[1] if module else None,
                )
            )
    return rules


def normalise(name: str) -> str:
    """A distribution name compared across conda, pip and pyproject (PEP 503: lower case,
    runs of ``-_.`` as one ``-``; extras off)."""
    base = re.split(r"[\[=<>!~ ]", name.strip(), maxsplit=1)[0]
    base = re.sub(r"[-_.]+", "-", base).lower()
    return ALIASES.get(base, base)


def parse_spec(spec: str) -> tuple[str, str | None]:
    """(normalised name, pinned version or None) of a conda (``a=1``) or pip (``a==1``) spec."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*(==|=)?\s*([^\s,;]+)?", spec)
    name, _, op, version = match.groups()
    return normalise(name), (version if op else None)


def conda_specs(env: dict) -> list[str]:
    """The conda packages of an env file (its dependencies' strings)."""
    return [dep for dep in env.get("dependencies", []) if isinstance(dep, str)]


def pip_specs(env: dict) -> list[str]:
    """The pip requirements of an env file (the ``pip:`` lists of its dependencies)."""
    return [
        spec
        for dep in env.get("dependencies", [])
        if isinstance(dep, dict)
        for spec in dep.get("pip", [])
    ]


def env_packages(env: dict) -> dict[str, str | None]:
    """Normalised name -> pinned version (None if unpinned) of a conda env's dependencies,
    conda packages and pip requirements alike."""
    return dict(parse_spec(spec) for spec in conda_specs(env) + pip_specs(env))


def pyproject_requirements(project: dict) -> list[Requirement]:
    """The requirements of pyproject's dependencies and extras (the project's own extras,
    ``blendphot[...]``, left out)."""
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    requirements = [Requirement(spec) for spec in specs]
    return [req for req in requirements if normalise(req.name) != normalise(project["name"])]


def pinned(requirement: Requirement) -> str | None:
    """The version of an exact ``==`` pin, or None."""
    specs = list(requirement.specifier)
    exact = len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version
    return specs[0].version if exact else None


def canonical(requirement: Requirement) -> tuple[str, frozenset[str]]:
    """A requirement's distribution and extras, as PyPI compares them (no aliases: the CPU and
    CUDA TensorFlow builds differ here)."""
    extras = frozenset(canonicalize_name(extra) for extra in requirement.extras)
    return canonicalize_name(requirement.name), extras


def env_python(env: dict) -> str:
    """The Python series (``3.11``) a conda env file pins."""
    versions = [version for name, version in map(parse_spec, conda_specs(env)) if name == "python"]
    assert len(versions) == 1 and versions[0], f"python is not pinned once: {conda_specs(env)}"
    return versions[0]


def pyproject_pins(project: dict) -> dict[str, str]:
    """Normalised name -> version of every ``==`` pin in pyproject's dependencies and extras."""
    specs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        specs += extra
    pins = (parse_spec(spec) for spec in specs if "==" in spec)
    return {name: version for name, version in pins}


@cache
def pyproject() -> dict:
    """The [project] table of pyproject.toml."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def module_path(module: str) -> Path | None:
    """The source file of a blendphot module (package __init__ or .py), or None."""
    base = ROOT.joinpath(*module.split("."))
    for path in (base / "__init__.py", base.with_suffix(".py")):
        if path.is_file():
            return path
    return None


def is_library(module: str) -> bool:
    """Whether a dotted name belongs to the blendphot package."""
    return module.split(".")[0] == PACKAGE


@cache
def module_tree(module: str) -> ast.Module:
    """The AST of a blendphot module (empty for a name that is not a module file)."""
    path = module_path(module)
    return ast.parse(path.read_text()) if path else ast.Module(body=[], type_ignores=[])


def resolve(node: ast.ImportFrom, module: str) -> str:
    """The absolute module name of a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    path = module_path(module)
    parts = module.split(".") if path and path.name == "__init__.py" else module.split(".")[:-1]
    parts = parts[: len(parts) - node.level + 1]
    return ".".join(parts + ([node.module] if node.module else []))


def eager_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """The import statements run when ``tree`` runs: all but those inside function bodies."""
    found = []
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.Import | ast.ImportFrom):
            found.append(child)
        elif not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += eager_imports(child)
    return found


def all_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement of ``tree``, at any depth."""
    return [node for node in ast.walk(tree) if isinstance(node, ast.Import | ast.ImportFrom)]


def imported_modules(nodes, module: str) -> set[str]:
    """Module names imported by these statements; ``from a import b`` gives a, and a.b when
    that is a blendphot module."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
            continue
        base = resolve(node, module)
        names.add(base)
        names.update(f"{base}.{a.name}" for a in node.names if module_path(f"{base}.{a.name}"))
    return names


def bindings(nodes, module: str) -> dict[str, tuple[str, str]]:
    """Local name -> (module, attribute) bound by these imports ('' attribute: a module)."""
    bound = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    bound[alias.asname] = (alias.name, "")
            continue
        base = resolve(node, module)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            bound[alias.asname or alias.name] = (
                (sub, "") if module_path(sub) else (base, alias.name)
            )
    return bound


@cache
def definitions(module: str) -> dict[str, ast.AST]:
    """Top-level functions and classes of a blendphot module, by name."""
    kinds = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
    return {node.name: node for node in module_tree(module).body if isinstance(node, kinds)}


def find_definition(module: str, name: str, depth: int = 0) -> tuple[str, str] | None:
    """(module, name) where a blendphot function or class is defined, following re-exports."""
    if not is_library(module) or depth > 10:
        return None
    if name in definitions(module):
        return module, name
    target = bindings(eager_imports(module_tree(module)), module).get(name)
    if not target and name in lazy_exports(module):
        target = (lazy_exports(module)[name], name)
    return find_definition(*target, depth + 1) if target and target[1] else None


@cache
def lazy_exports(module: str) -> dict[str, str]:
    """A package's ``_EXPORTS`` (name -> module imported on first use, blendphot.lazy)."""
    for node in module_tree(module).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            return ast.literal_eval(node.value)
    return {}


def called(body: ast.AST, module: str, local: dict) -> set[tuple[str, str]]:
    """The blendphot functions and classes a body calls, by name or as ``module.name``."""
    scope = {**bindings(eager_imports(module_tree(module)), module), **local}
    found = set()
    for node in ast.walk(body):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name):
            target = (module, func.id) if func.id in definitions(module) else scope.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            alias = scope.get(func.value.id)
            target = (alias[0], func.attr) if alias and not alias[1] else None
        else:
            target = None
        if target and target[1] and (where := find_definition(*target)):
            found.add(where)
    return found


def third_party(modules: set[str]) -> set[str]:
    """The top-level names of the modules that are neither stdlib nor blendphot."""
    tops = {name.split(".")[0] for name in modules}
    return {top for top in tops if top and top != PACKAGE and top not in sys.stdlib_module_names}


def parents(module: str) -> list[str]:
    """A dotted module and its parent packages (importing it runs their __init__)."""
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def eager_closure(modules: set[str]) -> set[str]:
    """Every module imported when ``modules`` are: module-level imports, transitively."""
    seen, todo = set(), set(modules)
    while todo:
        name = todo.pop()
        for module in parents(name) if is_library(name) else [name]:
            if module in seen:
                continue
            seen.add(module)
            if is_library(module):
                todo |= imported_modules(eager_imports(module_tree(module)), module)
    return seen


def needed_modules(tree: ast.Module, name: str, entry: set[tuple[str, str]]) -> set[str]:
    """Modules a script needs: what it imports, and what the functions it calls (plus the
    ``entry`` functions) import when they run, transitively through calls by name. A class
    counts with all its methods; calls on objects (``x.method()``) are not followed."""
    imports = all_imports(tree)
    modules = imported_modules(eager_imports(tree), name)
    todo = called(tree, name, bindings(imports, name)) | set(entry)
    done = set()
    while todo:
        where = todo.pop()
        done.add(where)
        module, func = where
        node = definitions(module)[func]
        local = all_imports(node)
        modules |= {module} | imported_modules(local, module)
        todo |= called(node, module, bindings(local, module)) - done
    return eager_closure(modules)


def string_constants(tree: ast.AST) -> set[str]:
    """The string literals of an AST."""
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def rule_needs(rule: Rule) -> set[str]:
    """Normalised distributions a rule needs: its script's, and its stage's (named as it); a
    shell rule running a library module (``python -m``), that module's and its ``main``'s."""
    if rule.module is not None:
        tree = module_tree(rule.module)
        needed = needed_modules(tree, rule.module, {(rule.module, "main")})
        return {distribution(module) for module in third_party(needed)}
    tree = ast.parse(rule.script.read_text())
    name = f"workflow.scripts.{rule.script.stem}"
    run = STAGES[rule.name].run
    entry = {(run.__module__, run.__name__)}
    return {distribution(module) for module in third_party(needed_modules(tree, name, entry))}


@cache
def distributions() -> dict[str, list[str]]:
    """Top-level module -> distributions installed here that provide it."""
    return packages_distributions()


def distribution(module: str) -> str:
    """The normalised distribution that provides a top-level module (its own name if unknown)."""
    dists = distributions().get(module, [module])
    return normalise(sorted(dists)[0])


def load_env(path: Path) -> dict:
    """A conda environment file."""
    return yaml.safe_load(path.read_text())


RULES = workflow_rules()
SCRIPT_RULES = [rule for rule in RULES if rule.script is not None]
MODULE_RULES = [rule for rule in RULES if rule.module is not None]
"""Shell rules that run a library module (the shipped methods of one's own)."""


def test_rules_were_found():
    names = {rule.name for rule in RULES}
    assert {"synthetic_sky", "stamps", "blend_sets", "train_model", "predict"} <= names
    assert len(SCRIPT_RULES) >= 8


@pytest.mark.parametrize("rule", [r for r in RULES if r.script or r.shell], ids=lambda r: r.name)
def test_rule_has_a_pinned_conda_env(rule):
    assert rule.conda is not None, f"rule {rule.name} ({rule.smk.name}) has no conda: directive"
    assert rule.conda.parent == ROOT / "envs" and rule.conda.is_file(), rule.conda
    packages = env_packages(load_env(rule.conda))
    assert packages.get("python"), f"{rule.conda.name}: python is not pinned"
    unpinned = sorted(name for name, version in packages.items() if not version and name != "pip")
    assert not unpinned, f"{rule.conda.name}: unpinned {unpinned}"


@pytest.mark.parametrize("rule", SCRIPT_RULES, ids=lambda r: r.name)
def test_rule_runs_the_stage_of_its_name(rule):
    assert rule.name in STAGES, f"rule {rule.name}: no stage of that name"


@pytest.mark.parametrize("rule", SCRIPT_RULES, ids=lambda r: r.name)
def test_rule_env_declares_what_its_stage_imports(rule):
    needs = rule_needs(rule)
    declared = env_packages(load_env(rule.conda))
    missing = sorted(needs - set(declared))
    assert not missing, f"rule {rule.name}: {rule.conda.name} lacks {missing} (needs {needs})"


@pytest.mark.parametrize("rule", MODULE_RULES, ids=lambda r: r.name)
def test_module_rule_env_declares_what_its_module_imports(rule):
    needs = rule_needs(rule)
    declared = env_packages(load_env(rule.conda))
    missing = sorted(needs - set(declared))
    assert "photutils" in needs or rule.module != "blendphot.methods.photutils_deblend", needs
    assert not missing, f"rule {rule.name}: {rule.conda.name} lacks {missing} (needs {needs})"


@pytest.mark.parametrize("env_path", ENVS, ids=lambda p: p.name)
def test_env_holds_only_what_its_rules_use(env_path):
    rules = [rule for rule in SCRIPT_RULES + MODULE_RULES if rule.conda == env_path]
    assert rules, f"{env_path.name}: no rule uses it"
    used = set().union(*(rule_needs(rule) for rule in rules))
    runtime = RUNTIME_ONLY | RUNTIME_ONLY_IN.get(env_path.name, set())
    unused = sorted(set(env_packages(load_env(env_path))) - used - runtime)
    names = [rule.name for rule in rules]
    assert not unused, f"{env_path.name}: {unused} used by none of its rules {names}"


def test_script_analysis_sees_the_heavy_imports():
    """The analysis is not vacuous: the sky needs GalSim, training TensorFlow and Keras,
    the data stages do not pull TensorFlow, and neither the models nor the evaluation
    pull GalSim."""
    by_name = {rule.name: rule for rule in SCRIPT_RULES}
    assert "galsim" in rule_needs(by_name["synthetic_sky"])
    assert {"tensorflow", "keras"} <= rule_needs(by_name["train_model"])
    assert "tensorflow" not in rule_needs(by_name["blend_sets"])
    for name in ("train_model", "predict", "output_catalog", "metrics", "figures"):
        assert "galsim" not in rule_needs(by_name[name]), name


@pytest.mark.parametrize("package", ["blendphot.models", "blendphot.evaluate"])
def test_models_and_evaluation_import_without_galsim(package):
    code = f"import sys, {package}, blendphot.stages as s; s.all_stages(); " + (
        "print(sorted(m for m in ('galsim', 'sep', 'tensorflow') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]", f"{package} imports {result.stdout.strip()}"


def test_tensorflow_rules_get_the_whole_tensorflow_extra():
    """What TensorFlow needs at run time beyond imports (tensorboard for the TensorBoard
    callback) comes with pyproject's gpu extra: an env running TensorFlow has all of it."""
    extra = {parse_spec(spec)[0] for spec in pyproject()["optional-dependencies"]["gpu"]}
    for env_path in ENVS:
        packages = env_packages(load_env(env_path))
        if "tensorflow" in packages:
            assert extra <= set(packages), f"{env_path.name} lacks {sorted(extra - set(packages))}"


IMPORT_CHECK = """
import importlib.abc, importlib.machinery, sys

class Absent(importlib.abc.Loader):
    def create_module(self, spec):
        raise ModuleNotFoundError(f"{spec.name} is not in the rule's env")

    def exec_module(self, module):
        pass

class Blocked(importlib.abc.MetaPathFinder):
    # A spec whose loading fails: importing a blocked package raises, while probes of
    # optional dependencies (importlib.util.find_spec, as astropy does) still answer.
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            return importlib.machinery.ModuleSpec(name, Absent())

sys.meta_path.insert(0, Blocked())
sys.path.insert(0, ROOT)
import blendphot.stages
blendphot.stages.all_stages()  # every declaration loads in every env
for statement in IMPORTS:
    exec(statement, {})
print("imported", len(IMPORTS))
"""


def stage_import_statements(stage_names: set[str]) -> list[str]:
    """The import statements in the bodies of these stages' functions, as source lines."""
    runs = [STAGES[name].run for name in stage_names]
    return sorted(
        {
            ast.unparse(node)
            for run in runs
            for node in all_imports(definitions(run.__module__)[run.__name__])
        }
    )


@pytest.mark.parametrize("env_path", ENVS, ids=lambda p: p.name)
def test_env_stages_import_without_the_other_packages(env_path):
    """Each env's stages import in an interpreter where the project's pinned third-party
    packages that the env lacks cannot be imported (TensorFlow in the data env, ...)."""
    declared = set(env_packages(load_env(env_path)))
    project = set(pyproject_pins(pyproject())) - {"snakemake", "snakemake-executor-plugin-slurm"}
    blocked = sorted(
        top
        for top, dists in distributions().items()
        if normalise(sorted(dists)[0]) in project - declared
    )
    stage_names = {rule.name for rule in SCRIPT_RULES if rule.conda == env_path}
    imports = stage_import_statements(stage_names)
    imports += sorted({f"import {r.module}" for r in MODULE_RULES if r.conda == env_path})
    code = f"BLOCKED = {set(blocked)!r}\nIMPORTS = {imports!r}\nROOT = {str(ROOT)!r}\n"
    result = subprocess.run(
        [sys.executable, "-c", code + IMPORT_CHECK], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{env_path.name} (blocked {blocked}):\n{result.stderr[-3000:]}"
    assert imports and "imported" in result.stdout


@pytest.mark.parametrize("env_path", ENVS, ids=lambda p: p.name)
def test_env_takes_only_python_and_pip_from_conda(env_path):
    """conda-forge gives the interpreter (``python=X.Y``) and pip, nothing else; every other
    package is a pip entry with an exact ``==`` pin, listed once."""
    env = load_env(env_path)
    assert env.get("channels") == CHANNELS, f"{env_path.name}: channels {env.get('channels')}"
    conda = conda_specs(env)
    assert sorted(parse_spec(spec)[0] for spec in conda) == sorted(CONDA_PACKAGES), (
        f"{env_path.name}: conda packages {conda}, only {sorted(CONDA_PACKAGES)} allowed"
    )
    assert any(re.fullmatch(r"python=\d+\.\d+", spec) for spec in conda), conda
    others = [dep for dep in env["dependencies"] if not isinstance(dep, str)]
    assert len(others) == 1 and set(others[0]) == {"pip"}, f"{env_path.name}: {others}"
    pips = pip_specs(env)
    assert pips, f"{env_path.name}: no pip packages"
    loose = [spec for spec in pips if not PIP_PIN.fullmatch(spec)]
    assert not loose, f"{env_path.name}: pip entries without an exact == pin: {loose}"
    names = [parse_spec(spec)[0] for spec in pips]
    assert not set(names) & CONDA_PACKAGES, f"{env_path.name}: python or pip from pip"
    twice = sorted({name for name in names if names.count(name) > 1})
    assert not twice, f"{env_path.name}: listed more than once: {twice}"


@pytest.mark.parametrize("env_path", ENVS, ids=lambda p: p.name)
def test_env_pins_agree_with_pyproject(env_path):
    """Every pip entry is a requirement of pyproject.toml (dependencies or an extra): the
    same distribution (names compared as PyPI does), the same extras, the same ``==`` pin."""
    project = {}
    for req in pyproject_requirements(pyproject()):
        project.setdefault(normalise(req.name), []).append(req)
    absent, differ = [], {}
    for spec in pip_specs(load_env(env_path)):
        req = Requirement(spec)
        candidates = project.get(normalise(req.name), [])
        if not candidates:
            absent.append(spec)
            continue
        same = [
            c
            for c in candidates
            if canonical(c) == canonical(req) and pinned(c) is not None and pinned(c) == pinned(req)
        ]
        if not same:
            differ[spec] = [str(c) for c in candidates]
    assert not absent, f"{env_path.name}: not pinned in pyproject.toml: {absent}"
    assert not differ, f"{env_path.name} vs pyproject.toml (env: pyproject): {differ}"


def test_pyproject_pins_each_package_once():
    """One version per distribution across pyproject's dependencies and extras (the CPU and
    GPU TensorFlow builds counted as one), each an exact ``==`` pin: the envs have one
    version to agree with."""
    versions: dict[str, set[str | None]] = {}
    for req in pyproject_requirements(pyproject()):
        versions.setdefault(normalise(req.name), set()).add(pinned(req))
    unpinned = sorted(name for name, found in versions.items() if None in found)
    assert not unpinned, f"pyproject.toml: not pinned with ==: {unpinned}"
    several = {name: sorted(found) for name, found in versions.items() if len(found) > 1}
    assert not several, f"pyproject.toml pins these at several versions: {several}"


def test_envs_share_one_python_allowed_by_pyproject():
    """Every env pins the same Python series, and pyproject's requires-python allows it."""
    pythons = {env_path.name: env_python(load_env(env_path)) for env_path in ENVS}
    assert len(set(pythons.values())) == 1, f"envs pin different Pythons: {pythons}"
    python = next(iter(pythons.values()))
    requires = SpecifierSet(pyproject()["requires-python"])
    assert requires.contains(python), f"python={python} outside requires-python {requires}"


@pytest.mark.parametrize(
    "script", sorted((ROOT / "workflow" / "scripts").glob("*.py")), ids=lambda p: p.name
)
def test_rule_script_imports_the_library_from_the_repository(script):
    """Before its first blendphot import, each script puts the repository root first on
    sys.path (so a conda env without the pip-installed package still finds the library)."""
    tree = ast.parse(script.read_text())
    first_import = next(
        i
        for i, node in enumerate(tree.body)
        if isinstance(node, ast.Import | ast.ImportFrom)
        and any(is_library(name) for name in imported_modules([node], ""))
    )
    inserts = [
        node.value
        for node in tree.body[:first_import]
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and ast.unparse(node.value.func) == "sys.path.insert"
    ]
    assert inserts, f"{script.name}: no sys.path.insert before its first blendphot import"
    index, path_expr = inserts[0].args
    assert ast.literal_eval(index) == 0
    snakemake = SimpleNamespace(scriptdir=str(script.parent))
    value = eval(
        compile(ast.Expression(path_expr), script.name, "eval"),
        {"Path": Path, "str": str, "snakemake": snakemake},
    )
    assert Path(value) == ROOT, f"{script.name} puts {value} on sys.path, not the repository"
