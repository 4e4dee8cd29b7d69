"""Every code example of the documentation site (``docs/**/*.md``) and of ``README.md``,
executed, and the docstring examples of ``jetliner/*.py`` run with doctest.

What runs, per page (one test per page that has examples):

- ```` ```python ```` blocks run in page order in one shared namespace.
- ```` ```bash ```` / ```` ```console ```` blocks (in a console block, the lines
  starting with ``$ ``; the lines after one are its expected output): each command
  of a line (commands joined by ``&&``, a trailing ``# comment`` dropped, backslash
  continuations joined) must be ``jetliner ...`` or ``python -m jetliner ...``, run
  in-process through ``jetliner.cli.main`` (the console script's entry point) and
  required to exit with status 0, or ``export NAME=value`` / ``unset NAME``, which
  change the environment of the page's later examples.  Install commands (a line
  containing ``pip install``, such as the README's set-up lines, which CI runs
  itself) are the only lines left out; any other shell line fails the test, so that
  no example goes unchecked.
- ```` ```ini ```` blocks titled ``~/.aws/config`` or ``~/.aws/credentials`` are appended
  to those files in the page's home directory.
- A ```` ```text ```` block directly after a python or shell block (only blank lines
  between) is that block's expected standard output, compared line by line with
  trailing spaces ignored.  Other text blocks are illustrations and are not checked.

Where it runs:

- The current directory is a fresh copy of the files the examples name (see
  ``conftest.py``); HOME is a fresh folder whose ``~/.aws/config`` default profile
  points at the loopback S3 server and whose ``~/.aws/credentials`` holds default
  test credentials (as on a machine where AWS is configured).
- S3 is a moto server on 127.0.0.1 holding the bucket and objects the examples name;
  HTTP(S) URLs are served by a loopback HTTP server.
- Rewriting, the only liberty taken with the examples' text: each string in
  `ENDPOINTS` is replaced by a loopback URL in every code block (python, shell,
  ini).  A profile the examples define without an endpoint (plain AWS) gets the
  loopback endpoint added in ``~/.aws/config``, as the default profile has: it stands
  for AWS's own endpoint.
- No AWS_* variable or proxy setting of the host leaks in, instance metadata lookups
  are off, and resolving any host name other than localhost fails: no example can
  reach the network.
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import io
import pkgutil
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import jetliner

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]

S3, HTTP = "s3", "http"
# Endpoints shown in the examples -> the loopback server standing in for them.
ENDPOINTS = {
    "http://localhost:9000": S3,  # MinIO
    "http://localhost:4566": S3,  # LocalStack
    "https://<account-id>.r2.cloudflarestorage.com": S3,  # Cloudflare R2
    "https://nyc3.digitaloceanspaces.com": S3,  # DigitalOcean Spaces
    "http://garage.internal:3900": S3,  # Garage
    "https://data.example.com": HTTP,  # a web server
}
AWS_FILES = {"~/.aws/config": "config", "~/.aws/credentials": "credentials"}


# -- reading the pages ---------------------------------------------------------------


@dataclass
class Block:
    """One fenced code block: its language, title, text and first line (1-based)."""

    lang: str
    title: str | None
    text: str
    line: int
    expected: str | None = None  # the text block right after it
    follows: bool = field(default=False, repr=False)  # directly after the previous block


_FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)(?P<info>.*)$")


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page, in order, with expected outputs."""
    lines = path.read_text().splitlines()
    out: list[Block] = []
    i = 0
    last_end = -10
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        indent, fence, info = len(m["indent"]), m["fence"], m["info"].strip()
        lang = info.split()[0].lower() if info else ""
        title = re.search(r'title="([^"]*)"', info)
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (lines[j].strip().startswith(fence)
                                      and lines[j].strip().strip(fence[0]) == ""):
            body.append(lines[j][indent:] if lines[j][:indent].strip() == "" else lines[j])
            j += 1
        follows = all(not lines[k].strip() for k in range(last_end + 1, i)) and last_end >= 0
        out.append(Block(lang, title[1] if title else None, "\n".join(body) + "\n", i + 2,
                         follows=follows))
        last_end = j
        i = j + 1
    result: list[Block] = []
    for b in out:
        if b.lang == "text" and b.follows and result and result[-1].lang in (
                "python", "bash", "console", "sh", "shell"):
            result[-1].expected = b.text
        result.append(b)
    return result


def executable(b: Block) -> bool:
    if b.lang in ("python", "py"):
        return True
    if b.lang == "ini":
        return b.title in AWS_FILES
    if b.lang in ("bash", "sh", "shell", "console"):
        return any(_shell_kind(line) != "install" for line in _shell_lines(b))
    return False


def _shell_lines(b: Block) -> list[str]:
    """The commands of a shell block (continuations joined, comments and outputs dropped)."""
    text = b.text.replace("\\\n", " ")
    lines = []
    for line in text.splitlines():
        line = line.strip()
        if b.lang == "console":
            if not line.startswith("$ "):
                continue  # output
            line = line[2:].strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


def _commands(line: str) -> list[list[str]]:
    """The commands of a shell line: words split at ``&&``, a trailing comment dropped."""
    commands: list[list[str]] = [[]]
    for word in shlex.split(line, comments=True):
        if word == "&&":
            commands.append([])
        else:
            commands[-1].append(word)
    return [c for c in commands if c]


def _shell_kind(line: str) -> str:
    """``install`` (the whole line is set-up), ``run``, or ``unknown``."""
    if "pip install" in line:
        return "install"
    for words in _commands(line):
        if not (words[0] == "jetliner" or words[:3] == ["python", "-m", "jetliner"]
                or words[0] in ("export", "unset")):
            return "unknown"
    return "run"


def _console_outputs(b: Block) -> list[tuple[str, str | None]]:
    """(command, expected output or None) pairs of a console block."""
    pairs: list[tuple[str, list[str]]] = []
    for line in b.text.replace("\\\n", " ").splitlines():
        if line.strip().startswith("$ "):
            pairs.append((line.strip()[2:].strip(), []))
        elif pairs:
            pairs[-1][1].append(line)
    return [(cmd, "\n".join(out).strip("\n") + "\n" if any(s.strip() for s in out) else None)
            for cmd, out in pairs]


PAGES_WITH_EXAMPLES = [p for p in PAGES if any(executable(b) for b in blocks(p))]


# -- the environment of a page -------------------------------------------------------


def rewrite(text: str, env: dict[str, str]) -> str:
    """Replace the examples' endpoints with the loopback servers' URLs."""
    for shown, server in ENDPOINTS.items():
        text = text.replace(shown, env[server])
    return text


def _add_missing_endpoints(home: Path, endpoint: str) -> None:
    """Give every profile defined without an endpoint the loopback one (see the module
    docstring): it stands for AWS's own endpoint."""
    config, creds = home / ".aws" / "config", home / ".aws" / "credentials"
    sections: dict[str, str] = {}
    for path, prefix in ((config, "profile "), (creds, "")):
        current = None
        for line in path.read_text().splitlines():
            m = re.match(r"^\[(.+)\]\s*$", line)
            if m:
                name = m[1].strip()
                if prefix and name.startswith(prefix):
                    name = name[len(prefix):]
                current = name
                sections.setdefault(current, "")
            elif current is not None:
                sections[current] += line + "\n"
    text = config.read_text()
    for name, body in sections.items():
        if "endpoint_url" in body:
            continue
        header = "[default]" if name == "default" else f"[profile {name}]"
        if header in text:
            text = text.replace(header, f"{header}\nendpoint_url = {endpoint}", 1)
        else:
            text += f"\n{header}\nendpoint_url = {endpoint}\n"
    config.write_text(text)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run one ``jetliner ...`` command in-process: (status, stdout, stderr)."""
    from jetliner.cli import main

    argv = argv[3:] if argv[:3] == ["python", "-m", "jetliner"] else argv[1:]
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    err = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(argv)
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    out.flush()
    return status, out.buffer.getvalue().decode("utf-8"), err.getvalue()


def _same_output(actual: str, expected: str, where: str) -> None:
    def norm(s: str) -> list[str]:
        return [line.rstrip() for line in s.strip("\n").splitlines()]

    assert norm(actual) == norm(expected), f"{where}: the output differs from the page's"


# -- the tests -----------------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES_WITH_EXAMPLES,
                         ids=[str(p.relative_to(ROOT)) for p in PAGES_WITH_EXAMPLES])
def test_page_examples(page: Path, page_env: dict[str, str],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    rel = page.relative_to(ROOT)
    for b in blocks(page):
        if not executable(b):
            continue
        where = f"{rel}:{b.line}"
        text = rewrite(b.text, page_env)
        leftover = [u for u in re.findall(r"https?://[^\s\"'`)]+", text)
                    if not u.startswith("http://127.0.0.1:")]
        assert not leftover, f"{where}: URL(s) not served on loopback: {leftover}"
        if b.lang in ("python", "py"):
            code = compile("\n" * (b.line - 1) + text, str(page), "exec")
            stdout = io.StringIO()
            with contextlib.redirect_stdout(stdout):
                exec(code, namespace)  # noqa: S102 - the documentation's own examples
            if b.expected is not None:
                _same_output(stdout.getvalue(), b.expected, where)
        elif b.lang == "ini":
            target = Path(page_env["home"]) / ".aws" / AWS_FILES[b.title or ""]
            with target.open("a") as f:
                f.write("\n" + text)
            _add_missing_endpoints(Path(page_env["home"]), page_env[S3])
        else:
            _run_shell_block(b, text, where, monkeypatch)


def _run_shell_block(b: Block, text: str, where: str, monkeypatch: pytest.MonkeyPatch) -> None:
    expected = dict(_console_outputs(Block(b.lang, b.title, text, b.line))) \
        if b.lang == "console" else {}
    stdout = ""
    for line in _shell_lines(Block(b.lang, b.title, text, b.line)):
        kind = _shell_kind(line)
        if kind == "install":
            continue
        assert kind == "run", f"{where}: a shell line the tests cannot run: {line!r}"
        out = ""
        for words in _commands(line):
            if words[0] == "unset":
                for name in words[1:]:
                    monkeypatch.delenv(name, raising=False)
            elif words[0] == "export":
                for word in words[1:]:
                    name, _, value = word.partition("=")
                    monkeypatch.setenv(name, value)
            else:
                status, printed, err = run_cli(words)
                assert status == 0, f"{where}: `{line}` exited with {status}: {err.strip()}"
                out += printed
        if expected.get(line) is not None:
            _same_output(out, expected[line] or "", f"{where} `{line}`")
        stdout += out
    if b.expected is not None:
        _same_output(stdout, b.expected, where)


def test_every_page_is_seen() -> None:
    """The pages are found, and the README's set-up commands are the only lines left out."""
    assert ROOT / "docs" / "index.md" in PAGES_WITH_EXAMPLES
    assert ROOT / "README.md" in PAGES_WITH_EXAMPLES
    for page in PAGES:
        for b in blocks(page):
            if b.lang in ("bash", "sh", "shell", "console"):
                for line in _shell_lines(b):
                    assert _shell_kind(line) != "unknown", (
                        f"{page.relative_to(ROOT)}:{b.line}: shell line not runnable: {line!r}")
            assert b.lang in ("python", "py", "bash", "sh", "shell", "console", "ini",
                              "text", "json"), (
                f"{page.relative_to(ROOT)}:{b.line}: code block of unknown kind {b.lang!r}")
            assert b.lang != "ini" or b.title in AWS_FILES, (
                f"{page.relative_to(ROOT)}:{b.line}: an ini block must be titled with the "
                f"file it belongs in ({', '.join(AWS_FILES)})")


# -- docstring examples --------------------------------------------------------------


def _modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(jetliner.__path__, "jetliner.")
                  if m.name != "jetliner.__main__")


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(module, name):
        test.globs.setdefault("jetliner", jetliner)
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} docstring example(s) of {name} failed"
