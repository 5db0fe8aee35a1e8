"""Every DVC stage depends on exactly the physioex code its command runs, found from the code itself.

A static walk of the package follows imports (module-level and inside functions, re-exports,
``import_module`` of a package's modules) and references from the stage's entry points: the
``physioex`` console script, the stage command's CLI module and its implementation (the function
named like the command that the command imports from outside ``physioex.cli``). Importing a module
runs its top level, class bodies and decorated functions; other functions count only when something
reached refers to them, so an option the stage's command does not use (another command, the original
PhysioEx ``train --experiment`` branch) adds no dependency. A real ``dvc repro`` with the imported
modules dumped at exit checks that the walk misses nothing.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "physioex"
BIN = Path(sys.executable).parent

Unit = tuple[str, str | None]
"""``(module, function)``: a top-level function, or ``(module, None)``: importing the module."""
Target = tuple[str, str | None]
"""What an import binds: ``(module, None)`` or ``(module, name)`` for ``from module import name``."""

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass
class Module:
    """One parsed module: its top-level functions and the names its top level imports."""

    name: str
    path: Path
    tree: ast.Module
    functions: dict[str, FunctionNode] = field(default_factory=dict)
    imports: dict[str, Target] = field(default_factory=dict)
    star: list[str] = field(default_factory=list)


class CodeGraph:
    """The physioex package, parsed on demand: which units each unit reaches."""

    def __init__(self, root: Path = ROOT) -> None:
        self.root = root
        self.files = {self._dotted(p): p for p in sorted((root / PACKAGE).rglob("*.py"))}
        self.missing: dict[str, set[str]] = {}  # physioex module imported but absent -> importers
        self._modules: dict[str, Module] = {}

    def _dotted(self, path: Path) -> str:
        parts = list(path.relative_to(self.root).with_suffix("").parts)
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    def module(self, name: str) -> Module:
        """Parse ``name`` once; record its top-level functions and top-level import bindings."""
        if name not in self._modules:
            path = self.files[name]
            mod = Module(name, path, ast.parse(path.read_text(), str(path)))
            self._modules[name] = mod
            for stmt in mod.tree.body:
                if isinstance(stmt, FunctionNode):
                    mod.functions[stmt.name] = stmt
                elif not isinstance(stmt, ast.ClassDef):
                    for node in ast.walk(stmt):
                        if isinstance(node, ast.Import | ast.ImportFrom):
                            for bound, target in self._bindings(mod, node):
                                if bound == "*":
                                    mod.star.append(target[0])
                                else:
                                    mod.imports[bound] = target
        return self._modules[name]

    def _bindings(self, mod: Module, node: ast.Import | ast.ImportFrom) -> list[tuple[str, Target]]:
        """``(bound name, target)`` for each name an import statement binds."""
        if isinstance(node, ast.Import):
            return [
                (a.asname, (a.name, None))
                if a.asname
                else (a.name.split(".")[0], (a.name.split(".")[0], None))
                for a in node.names
            ]
        base = node.module or ""
        if node.level:
            package = mod.name.split(".") if mod.path.name == "__init__.py" else mod.name.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        return [(a.asname or a.name, (base, a.name)) for a in node.names]

    def _prefixes(self, module: str) -> list[str]:
        parts = module.split(".")
        return [".".join(parts[: i + 1]) for i in range(len(parts))]

    def resolve(
        self, module: str, name: str | None, importer: str, seen: frozenset[Target] = frozenset()
    ) -> set[Unit]:
        """The units ``module`` (and ``module.name``) stand for, following re-exports to the definition."""
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            return set()
        units: set[Unit] = set()
        for prefix in self._prefixes(module):
            if prefix not in self.files:
                self.missing.setdefault(prefix, set()).add(importer)
                return units
            units.add((prefix, None))
        if name is None or name == "*" or (module, name) in seen:
            return units
        if f"{module}.{name}" in self.files:
            return units | self.resolve(f"{module}.{name}", None, importer)
        mod = self.module(module)
        if name in mod.functions:
            units.add((module, name))
        elif name in mod.imports:
            units |= self.resolve(*mod.imports[name], module, seen | {(module, name)})
        else:
            for base in mod.star:
                units |= self.resolve(base, name, module, seen | {(module, name)})
        return units

    def edges(self, unit: Unit) -> set[Unit]:
        """Units that running ``unit`` (a function, or a module's import) imports or refers to."""
        module, function = unit
        mod = self.module(module)
        nodes: list[ast.AST] = []
        if function is None:  # import: the top level, class bodies, decorators, defaults, decorated defs
            for stmt in mod.tree.body:
                if isinstance(stmt, FunctionNode) and not stmt.decorator_list:
                    nodes.append(stmt.args)
                else:
                    nodes.append(stmt)
        else:
            nodes.append(mod.functions[function])
        local: dict[str, Target] = {}
        found: set[Unit] = set() if function is None else self.resolve(module, None, module)
        for node in (n for top in nodes for n in ast.walk(top)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for bound, target in self._bindings(mod, node):
                    local[bound] = target
                if isinstance(node, ast.Import):
                    for alias in node.names:
                        found |= self.resolve(alias.name, None, module)
                else:  # importing a function runs its module, not the function: references do that
                    for _, target in self._bindings(mod, node):
                        found |= {u for u in self.resolve(*target, module) if u[1] is None}
            elif isinstance(node, ast.Call) and _dynamic_import(node) is not None:
                prefix = _dynamic_import(node) or ""
                found |= {
                    u for m in self.files if m.startswith(prefix) for u in self.resolve(m, None, module)
                }
        for node in (n for top in nodes for n in ast.walk(top)):
            if isinstance(node, ast.Name | ast.Attribute):
                found |= self._reference(mod, node, local)
        return found

    def _reference(self, mod: Module, node: ast.Name | ast.Attribute, local: dict[str, Target]) -> set[Unit]:
        """The unit a name or dotted name such as ``store.reader.open_store`` refers to, if physioex's."""
        chain: list[str] = []
        cur: ast.expr = node
        while isinstance(cur, ast.Attribute):
            chain.insert(0, cur.attr)
            cur = cur.value
        if not isinstance(cur, ast.Name):
            return set()
        if cur.id in mod.functions and cur.id not in local:
            return {(mod.name, cur.id)}
        target = local.get(cur.id) or mod.imports.get(cur.id)
        if target is None:
            return set()
        module, name = target
        for attr in ([name] if name is not None else []) + chain:
            if f"{module}.{attr}" not in self.files:
                return self.resolve(module, attr, mod.name)
            module = f"{module}.{attr}"
        return self.resolve(module, None, mod.name)

    def reach(self, roots: Iterable[Unit], stop: Iterable[Unit] = ()) -> dict[Unit, Unit | None]:
        """Every unit reachable from ``roots`` (never entering ``stop``), mapped to what reached it."""
        stop_set = set(stop) - set(roots)
        parent: dict[Unit, Unit | None] = {}
        todo: list[tuple[Unit, Unit | None]] = [(r, None) for r in roots]
        while todo:
            unit, via = todo.pop(0)
            if unit not in parent and unit not in stop_set:
                parent[unit] = via
                todo.extend((e, unit) for e in sorted(self.edges(unit), key=str) if e not in parent)
        return parent

    def function_imports(self, unit: Unit) -> list[Target]:
        """``(module, name)`` of every ``from module import name`` in the body of function ``unit``."""
        mod = self.module(unit[0])
        return [
            target
            for node in ast.walk(mod.functions[unit[1] or ""])
            if isinstance(node, ast.ImportFrom)
            for _, target in self._bindings(mod, node)
        ]


def _dynamic_import(node: ast.Call) -> str | None:
    """The module (or module prefix of an f-string) an ``import_module(...)`` call imports, else None."""
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    if name not in {"import_module", "__import__"} or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return str(arg.values[0].value)
    return None


@dataclass(frozen=True)
class Stage:
    """One stage of dvc.yaml as DVC resolves it (``train`` for every ``train@k``)."""

    name: str
    command: str
    cmd: str
    code_deps: tuple[str, ...]


@cache
def dvc_stages() -> dict[str, Stage]:
    """dvc.yaml's stages resolved by DVC itself (params interpolated, foreach expanded)."""
    from dvc.repo import Repo

    from physioex.cli import app

    commands = {c.name or inspect.unwrap(c.callback).__name__ for c in app.registered_commands}  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory(prefix="physioex-dvc-deps-") as tmp:  # DVC writes .dvc/tmp: not here
        work = Path(tmp)
        (work / ".dvc").mkdir()
        for rel in ("dvc.yaml", "params.yaml", ".dvc/config"):
            shutil.copy2(ROOT / rel, work / rel)
        repo = Repo(str(work), config={"core": {"no_scm": True}})
        stages: dict[str, Stage] = {}
        for stage in repo.index.stages:
            argv = shlex.split(stage.cmd)
            assert argv[0] == "physioex", f"stage {stage.name} does not run `physioex`: {stage.cmd}"
            command = next((a for a in argv[1:] if a in commands), None)
            assert command, f"stage {stage.name} runs no physioex command: {stage.cmd}"
            deps = tuple(str(d.def_path) for d in stage.deps if PurePosixPath(d.def_path).parts[0] == PACKAGE)
            name = stage.name.split("@")[0]
            stages.setdefault(name, Stage(name, command, stage.cmd, deps))
        return stages


@cache
def graph() -> CodeGraph:
    return CodeGraph()


@cache
def command_functions() -> dict[str, Unit]:
    """``{command: (module, function)}`` of every command registered on the ``physioex`` app."""
    from physioex.cli import app

    out: dict[str, Unit] = {}
    for c in app.registered_commands:
        func = inspect.unwrap(c.callback)  # type: ignore[arg-type]
        out[c.name or func.__name__] = (func.__module__, func.__qualname__)
    return out


def console_entry() -> Unit:
    """The function behind the installed ``physioex`` console script (pyproject's [project.scripts])."""
    from importlib.metadata import entry_points

    (script,) = entry_points(group="console_scripts", name=PACKAGE)
    module, function = script.value.split(":")
    return module, function


def implementation(command: str) -> set[Unit]:
    """What the CLI command calls to do its work: each function it imports from a stage module
    ``physioex.<package>.run``, or named like the command, from outside ``physioex.cli``."""
    g = graph()
    cli = command_functions()[command]
    found: set[Unit] = set()
    for module, name in g.function_imports(cli):
        if module.startswith(f"{PACKAGE}.cli") or not (module.endswith(".run") or name == command):
            continue
        found |= {u for u in g.resolve(module, name or "", cli[0]) if u[1] is not None}
    return found


@cache
def walk(stage: str) -> dict[Unit, Unit | None]:
    """Units the stage's command runs: from the console script, its CLI module and its implementation.

    The command functions themselves are not entered: the CLI registers them all, and their bodies hold
    branches the stage's options never take (the real run checks nothing used is missed)."""
    command = dvc_stages()[stage].command
    cli_module, _ = command_functions()[command]
    roots = {console_entry(), (cli_module, None), *implementation(command)}
    return graph().reach(roots, stop=command_functions().values())


def used_modules(stage: str) -> set[str]:
    return {module for module, _ in walk(stage)}


def why(stage: str, file: str) -> str:
    """The chain of units through which the stage reaches ``file``, for failure messages."""
    reached = walk(stage)
    unit = next((u for u in reached if u[1] is None and used_files([u[0]]) == {file}), None)
    chain: list[str] = []
    while unit is not None:
        chain.insert(0, unit[0] if unit[1] is None else f"{unit[0]}.{unit[1]}()")
        unit = reached[unit]
    return " -> ".join(chain)


def used_files(modules: Iterable[str]) -> set[str]:
    files = graph().files
    return {files[m].relative_to(ROOT).as_posix() for m in modules if m in files}


def covered(path: str, declared: str) -> bool:
    return path == declared or path.startswith(declared.rstrip("/") + "/")


def code_files(declared: str) -> list[str]:
    """The files DVC hashes for a declared code path (``__pycache__`` is in .dvcignore)."""
    path = ROOT / declared
    if path.is_file():
        return [declared]
    return sorted(
        p.relative_to(ROOT).as_posix()
        for p in path.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


STAGES = ["download", "preprocess", "train", "evaluate", "explain"]


def test_dvc_yaml_has_the_five_pipeline_stages() -> None:
    assert sorted(dvc_stages()) == sorted(STAGES)


@pytest.mark.parametrize("stage", STAGES)
def test_stage_command_imports_its_implementation(stage: str) -> None:
    command = dvc_stages()[stage].command
    found = implementation(command)
    assert len(found) == 1, (
        f"`physioex {command}` (stage {stage}) should import exactly one function named {command!r} from "
        f"outside physioex.cli (its implementation), found {sorted(found)}"
    )


def test_no_physioex_import_names_a_missing_module() -> None:
    for stage in STAGES:
        walk(stage)
    missing = {m: sorted(by) for m, by in graph().missing.items()}
    assert not missing, f"imported but not in the package (moved without a shim?): {missing}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_every_code_file_it_runs(stage: str) -> None:
    s = dvc_stages()[stage]
    undeclared = sorted(
        f for f in used_files(used_modules(stage)) if not any(covered(f, d) for d in s.code_deps)
    )
    reasons = "\n".join(f"  {f}: {why(stage, f)}" for f in undeclared)
    assert not undeclared, f"dvc.yaml stage {stage} runs these files but its deps miss them:\n{reasons}"


@pytest.mark.parametrize("stage", STAGES)
def test_stage_declares_no_code_it_does_not_run(stage: str) -> None:
    s = dvc_stages()[stage]
    used = used_files(used_modules(stage))
    unused = {d: [f for f in code_files(d) if f not in used] for d in s.code_deps}
    unused = {d: files for d, files in unused.items() if files or not code_files(d)}
    assert not unused, (
        f"dvc.yaml stage {stage} lists code its command never imports (editing it would re-run {stage} "
        f"for nothing; list the used files instead of the folder): {unused}"
    )


def test_editing_prediction_code_does_not_mark_train_stale() -> None:
    # The prediction code: the module of `physioex predict`'s implementation and every `*.predict`
    # module outside the CLI layer (which every command imports to register them all).
    predict = {m for m, f in implementation("predict") if f is not None}
    predict |= {m for m in graph().files if m.endswith(".predict") and not m.startswith(f"{PACKAGE}.cli")}
    train = dvc_stages()["train"]
    stale = sorted(f for f in used_files(predict) if any(covered(f, d) for d in train.code_deps))
    assert predict and not stale, f"train's deps cover the prediction code {stale}"


@pytest.mark.parametrize("stage", ["evaluate", "explain"])
def test_editing_store_reader_or_models_marks_stage_stale(stage: str) -> None:
    deps = dvc_stages()[stage].code_deps
    models = [m for m in graph().files if m == f"{PACKAGE}.models" or m.startswith(f"{PACKAGE}.models.")]
    for f in sorted(used_files([f"{PACKAGE}.store.reader", *models])):
        assert any(covered(f, d) for d in deps), f"editing {f} does not mark {stage} stale"


# A tiny demo configuration for the real run: seconds per stage.
TINY = {
    "download": {"demo-subjects": 5, "demo-nights": 1, "hours": 2.5},
    "preprocess": {"jobs": 1},
    "train": {"seq_len": 5, "batch_size": 8, "max_epochs": 1, "limit_train_batches": 2, "num_workers": 0},
    "explain": {"epoch-limit": 4, "n-steps": 2, "check-epochs": 2},
}

SHIM = """#!{python}
import atexit, json, os, sys


def _dump() -> None:
    out = os.path.join(os.environ["PHYSIOEX_MODULES_OUT"], os.environ["DVC_STAGE"] + ".json")
    with open(out, "w") as f:
        json.dump(sorted(m for m in sys.modules if m == "physioex" or m.startswith("physioex.")), f)


atexit.register(_dump)
from {module} import {function}

{function}()
"""


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """``dvc repro`` of a tiny demo in a fresh git clone; ``{stage: physioex modules it imported}``."""
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    repo = tmp_path_factory.mktemp("deps") / "physioex"
    for rel in files:
        if (ROOT / rel).is_file() and not rel.startswith("data/") and rel != "dvc.lock":
            (repo / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, repo / rel)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section] = {**(params.get(section) or {}), **values}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    shim_bin, out = repo.parent / "bin", repo.parent / "modules"
    shim_bin.mkdir()
    out.mkdir()
    module, function = console_entry()
    (shim_bin / PACKAGE).write_text(SHIM.format(python=sys.executable, module=module, function=function))
    (shim_bin / PACKAGE).chmod(0o755)
    env = dict(os.environ, PATH=f"{shim_bin}{os.pathsep}{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update(PHYSIOEX_MODULES_OUT=str(out), OMP_NUM_THREADS="1", HOME=str(repo.parent))
    env.update(GIT_AUTHOR_NAME="t", GIT_COMMITTER_NAME="t", GIT_AUTHOR_EMAIL="t@x.invalid")
    env["GIT_COMMITTER_EMAIL"] = env["GIT_AUTHOR_EMAIL"]
    env.pop("PHYSIOEX_DATA", None)
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"], ["git", "commit", "-qm", "tiny"]):
        subprocess.run(cmd, cwd=repo, env=env, check=True, capture_output=True)
    proc = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"dvc repro failed:\n{(proc.stdout + proc.stderr)[-4000:]}"
    runs: dict[str, set[str]] = {}
    for dump in out.glob("*.json"):
        runs.setdefault(dump.stem.split("@")[0], set()).update(json.loads(dump.read_text()))
    return runs


@pytest.mark.slow
@pytest.mark.parametrize("stage", STAGES)
def test_real_run_imports_nothing_the_static_walk_misses(real_run: dict[str, set[str]], stage: str) -> None:
    assert stage in real_run, f"dvc repro did not run stage {stage} through `physioex`"
    missed = sorted(real_run[stage] - used_modules(stage))
    assert not missed, f"a real run of stage {stage} imported modules the static walk did not find: {missed}"


def test_best_checkpoint_is_a_model_artifact_of_train() -> None:
    dvc_yaml = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    artifacts = dvc_yaml.get("artifacts") or {}
    models = {name: a for name, a in artifacts.items() if a.get("type") == "model"}
    assert len(models) == 1, f"dvc.yaml should declare the best checkpoint as one model artifact: {artifacts}"
    (artifact,) = models.values()
    assert artifact["path"].endswith("/best.ckpt") and artifact.get("desc"), artifact
    fold_out = dvc_yaml["stages"]["train"]["do"]["outs"][0].replace("${item}", "${folds[0]}")
    assert artifact["path"].startswith(fold_out + "/"), f"{artifact['path']} is not an output of train"


def suggested_deps(stage: str) -> list[str]:
    """The shortest exact code deps for ``stage``: a folder when the stage runs all of it, else its files."""
    used = used_files(used_modules(stage))
    out: list[str] = []

    def cover(folder: Path) -> None:
        rel = folder.relative_to(ROOT).as_posix()
        if rel != PACKAGE and code_files(rel) and all(f in used for f in code_files(rel)):
            out.append(rel)
            return
        for child in sorted(p for p in folder.iterdir() if p.name != "__pycache__"):
            if child.is_dir():
                cover(child)
            elif child.relative_to(ROOT).as_posix() in used:
                out.append(child.relative_to(ROOT).as_posix())

    cover(ROOT / PACKAGE)
    return out


if __name__ == "__main__":  # `python tests/test_dvc_deps.py`: print each stage's code deps for dvc.yaml
    for name in STAGES:
        print(f"{name}:", *(f"  - {d}" for d in suggested_deps(name)), sep="\n")
