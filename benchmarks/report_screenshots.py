"""Screenshots of ``pkgym evaluate``'s report.html in a headless browser (issue 20).

``python -m benchmarks.report_screenshots --out out/report_shots`` runs two small
evaluations with the CLI (vancomycin: label vs MAP; warfarin: fixed 5 mg, IWPC + Aurora and
MAP, with an age-band subgroup table) and saves each report.html as a full-page PNG at
1280 px width: ``OUT/<name>/report.html`` and ``OUT/<name>.png``.

The browser: Playwright driving a Chromium (its own, or the system's ``chromium`` /
``chromium-browser`` / ``google-chrome``), else that Chromium's own ``--headless
--screenshot`` (a tall window, the empty bottom trimmed). :func:`find_browser` says which;
with none the script stops with a message (``apt-get install chromium`` or
``pip install playwright && python -m playwright install chromium``).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

WIDTH = 1280
"""Viewport width of every screenshot, px."""

RUNS: dict[str, list[str]] = {
    "vancomycin": ["--env", "pkgym/Vancomycin-v0", "--policy", "label", "--policy", "map"],
    "warfarin": ["--env", "pkgym/WarfarinPGx-v0", "--policy", "fixed_5mg", "--policy",
                 "iwpc_pgx+aurora", "--policy", "map", "--by", "age_band"],
}
"""Each screenshot's ``pkgym evaluate`` flags (besides ``--n-patients``, ``--seed``, ``--out``)."""

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


@dataclass(frozen=True)
class Browser:
    """A way to screenshot a page: ``kind`` ``"playwright"`` or ``"cli"``, a Chromium path."""

    kind: str
    executable: str | None
    version: str


def _system_chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def find_browser() -> Browser | None:
    """Playwright with its own or the system's Chromium, else the system Chromium's CLI."""
    system = _system_chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if sync_playwright is not None:
        for executable in (None, system):  # Playwright's own Chromium first
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=executable,
                                                args=["--no-sandbox"])
                    version = browser.version
                    browser.close()
                return Browser("playwright", executable, f"Chromium {version} via Playwright")
            except Exception:  # noqa: BLE001 - no browser there: try the next
                continue
    if system is not None:
        result = subprocess.run([system, "--version"], capture_output=True, text=True,
                                check=False)
        return Browser("cli", system, result.stdout.strip() or system)
    return None


def screenshot(page: Path, png: Path, browser: Browser, width: int = WIDTH) -> Path:
    """Save ``page`` as a full-page PNG ``width`` px wide."""
    png.parent.mkdir(parents=True, exist_ok=True)
    if browser.kind == "playwright":
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            chromium = p.chromium.launch(executable_path=browser.executable,
                                         args=["--no-sandbox"])
            tab = chromium.new_page(viewport={"width": width, "height": 900})
            tab.goto(page.resolve().as_uri())
            tab.wait_for_load_state("load")
            tab.screenshot(path=str(png), full_page=True)
            chromium.close()
        return png
    assert browser.executable is not None
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([browser.executable, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", f"--user-data-dir={profile}",
                        f"--window-size={width},12000", f"--screenshot={png.resolve()}",
                        page.resolve().as_uri()], check=True, capture_output=True)
    _trim_bottom(png)
    return png


def _trim_bottom(png: Path) -> None:
    """Cut the rows below the page's last non-background row (a tall-window screenshot)."""
    import matplotlib.image as mpimg

    image = mpimg.imread(png)
    rows = np.where(np.abs(image - image[-1:, :, :]).max(axis=(1, 2)) > 1e-3)[0]
    if rows.size:
        mpimg.imsave(png, image[: rows[-1] + 24])


def png_size(png: Path) -> tuple[int, int]:
    """(width, height) of a PNG, from its header.

    Examples:
        >>> import tempfile, matplotlib.image as mpimg
        >>> path = Path(tempfile.mkdtemp()) / "a.png"
        >>> mpimg.imsave(path, np.zeros((3, 5, 3)))
        >>> png_size(path)
        (5, 3)
    """
    header = png.read_bytes()[:24]
    if header[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError(f"{png} is not a PNG")
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def evaluate(name: str, out: Path, n_patients: int, seed: int) -> Path:
    """Run ``pkgym evaluate`` for ``RUNS[name]`` into ``out/name``; its report.html."""
    folder = out / name
    if folder.exists():
        shutil.rmtree(folder)  # a fresh run: the report shows this run only
    command = [sys.executable, "-m", "pkgym.cli", "evaluate", *RUNS[name], "--n-patients",
               str(n_patients), "--seed", str(seed), "--out", str(folder)]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return folder / "report.html"


def main(argv: list[str] | None = None) -> list[Path]:
    """Evaluate, then screenshot each report; print the browser and the PNGs' sizes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=Path("out/report_shots"))
    parser.add_argument("--env", action="append", choices=sorted(RUNS),
                        help="which reports (default: all)")
    parser.add_argument("--n-patients", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    browser = find_browser()
    if browser is None:
        raise SystemExit("no headless browser: apt-get install chromium, or pip install "
                         "playwright && python -m playwright install chromium")
    print(f"browser: {browser.version} ({browser.kind})")
    shots = []
    for name in args.env or sorted(RUNS):
        page = evaluate(name, args.out, args.n_patients, args.seed)
        png = screenshot(page, args.out / f"{name}.png", browser)
        width, height = png_size(png)
        print(f"{name}: {png} ({width} x {height} px) of {page}")
        shots.append(png)
    return shots


if __name__ == "__main__":
    main()
