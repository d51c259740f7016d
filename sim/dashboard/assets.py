"""Solara's front-end files: installed with the project, or fetched from the npm registry.

A Solara page loads its JavaScript and CSS (the Vuetify app, RequireJS) from
``/_solara/cdn/<package>@<version>/...``; the Solara server answers from a
cache folder and fills it from a public CDN on first use.  Where that CDN
cannot be reached (an intranet, a meeting-room laptop, CI here) the page would
stay blank.

The project pins Solara to the release that the ``solara-assets`` package on
PyPI matches, and depends on it: ``pip install`` puts the files in the cache
folder (``<python prefix>/share/solara/cdn``), so the dashboard works offline
out of the box.  For a Solara of another version (a user who upgraded it),
``python -m sim.dashboard.assets`` fills the cache from the npm registry with
the ordinary ``npm pack``, for exactly the packages and versions the installed
Solara's page template names; ``python -m sim dashboard`` does the same at its
first start when they are missing and npm is there, and otherwise serves a
page that says what to run (:func:`missing_page`).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: The command that fills the cache, as the help texts and the page without front-end files print it.
FIX_COMMAND = "python -m sim.dashboard.assets"

_CDN_REFERENCE = re.compile(r"\{\{\s*cdn\s*\}\}/((?:@[\w.-]+/)?[\w.-]+@\d[\w.+-]*)/")


def required_packages() -> list[str]:
    """``name@version`` of every npm package the Solara page template loads through its CDN proxy."""
    import solara.server

    template = Path(solara.server.__file__).parent / "templates" / "solara.html.j2"
    return sorted(set(_CDN_REFERENCE.findall(template.read_text(encoding="utf-8"))))


def cache_dir() -> Path:
    """Solara's CDN cache folder (``SOLARA_ASSETS_PROXY_CACHE_DIR`` or its default under ``sys.prefix``)."""
    from solara.server import settings

    return Path(settings.assets.proxy_cache_dir)


def missing_packages() -> list[str]:
    """Required packages with no folder in the cache yet."""
    cache = cache_dir()
    return [spec for spec in required_packages() if not (cache / spec / "package.json").exists()]


def fetch(specs: list[str], destination: Path, npm: str = "npm") -> None:
    """``npm pack`` each ``name@version`` and unpack it as ``destination/name@version/``.

    Raises
    ------
    RuntimeError
        If npm is not installed or cannot fetch a package.
    """
    if shutil.which(npm) is None:
        raise RuntimeError("npm is not installed (Debian: apt-get install -y npm)")
    for spec in specs:
        with tempfile.TemporaryDirectory() as tmp:
            done = subprocess.run([npm, "pack", spec, "--silent"], cwd=tmp, capture_output=True, text=True)
            tarballs = list(Path(tmp).glob("*.tgz"))
            if done.returncode != 0 or len(tarballs) != 1:
                raise RuntimeError(f"npm pack {spec} failed: {done.stderr.strip() or done.stdout.strip()}")
            target = destination / spec
            partial = destination / f".{spec.replace('/', '_')}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            with tarfile.open(tarballs[0]) as archive:
                members = [m for m in archive.getmembers()
                           if m.name.startswith("package/") and (m.isfile() or m.isdir())]
                for member in members:
                    member.name = member.name.removeprefix("package/")
                archive.extractall(partial, members=[m for m in members if m.name], filter="data")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)


def ensure(npm: str = "npm") -> list[str]:
    """Fetch whatever is missing, if npm is there; return what is still missing (empty: all present).

    Never raises: a failed fetch leaves the packages missing, for the caller to report.
    """
    missing = missing_packages()
    if missing and shutil.which(npm) is not None:
        print(f"fetching Solara's front-end files once with npm ({', '.join(missing)}; about 140 MB) into "
              f"{cache_dir()} …", file=sys.stderr, flush=True)
        try:
            fetch(missing, cache_dir(), npm=npm)
        except (RuntimeError, OSError) as exc:
            print(f"note: could not fetch Solara's front-end files: {exc}", file=sys.stderr, flush=True)
    return missing_packages()


def missing_page(missing: list[str]) -> str:
    """The HTML page served instead of the dashboard while Solara's front-end files are missing."""
    items = "".join(f"<li><code>{html.escape(spec)}</code></li>" for spec in missing)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dashboard: front-end files missing</title>
<style>body {{ font: 20px/1.5 system-ui, sans-serif; max-width: 46em; margin: 3em auto; padding: 0 1em; }}
pre {{ background: #f3f3f3; padding: 0.8em 1em; font-size: 22px; }} code {{ font-size: 0.95em; }}</style></head>
<body><h1>The dashboard cannot start yet</h1>
<p>The page needs Solara's front-end files (JavaScript and CSS), which are not in Solara's cache
(<code>{html.escape(str(cache_dir()))}</code>):</p><ul>{items}</ul>
<p>Fetch them once with npm (Debian: <code>apt-get install -y npm</code>), in the environment the dashboard
runs in, then reload this page:</p>
<pre>{FIX_COMMAND}</pre>
<p>They are taken from the npm registry, about 140 MB; nothing else on the page needs the network.</p>
</body></html>
"""


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m sim.dashboard.assets``."""
    parser = argparse.ArgumentParser(
        prog="python -m sim.dashboard.assets",
        description="Fetch the front-end files (JavaScript, CSS) of the installed Solara from the npm registry "
                    "into Solara's cache, so that the dashboard works without internet access. Needs npm; "
                    "downloads about 140 MB once. Packages already cached are skipped.")
    parser.add_argument("--check", action="store_true",
                        help="only report which packages are missing (exit status 1 if any); download nothing")
    parser.add_argument("--npm", default="npm", help="the npm executable to use (default: npm)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Fill Solara's cache with the front-end packages it lacks; print what was done."""
    args = build_parser().parse_args(argv)
    missing = missing_packages()
    if not missing:
        print(f"Solara's front-end files are all in {cache_dir()}")
        return 0
    if args.check:
        print(f"missing from {cache_dir()}: {', '.join(missing)}; run {FIX_COMMAND}")
        return 1
    try:
        fetch(missing, cache_dir(), npm=args.npm)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"fetched {', '.join(missing)} into {cache_dir()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
