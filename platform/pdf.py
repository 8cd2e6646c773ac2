"""HTML to PDF with WeasyPrint, in a child process.

A large inspection packet can take a lot of memory and time; in a child process it cannot
take the web server or a worker down with it, and a time limit ends it. Documents are Jinja
templates under templates/documents/, rendered to HTML by the caller.

`python -m baoxue.platform.pdf` reads HTML on stdin and writes the PDF to stdout.
"""

from __future__ import annotations

import subprocess
import sys

from baoxue.platform.settings import PROJECT_ROOT


class PdfFailed(RuntimeError):
    """The renderer failed or ran out of time; the message says which, for the job's record."""


def render_pdf(html: str, *, timeout_seconds: float = 300) -> bytes:
    try:
        done = subprocess.run(
            [sys.executable, "-m", "baoxue.platform.pdf"], input=html.encode("utf-8"),
            capture_output=True, timeout=timeout_seconds, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PdfFailed(f"PDF rendering took longer than {timeout_seconds:.0f} s") from exc
    if done.returncode != 0 or not done.stdout.startswith(b"%PDF"):
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise PdfFailed(f"PDF rendering failed: {reason[0]}")
    return done.stdout


def _main() -> None:
    import logging

    from weasyprint import HTML

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    html = sys.stdin.buffer.read().decode("utf-8")
    # base_url lets documents use /static/... assets from the repository, never the network.
    pdf = HTML(string=html, base_url=str(PROJECT_ROOT / "platform")).write_pdf()
    sys.stdout.buffer.write(pdf)


if __name__ == "__main__":
    _main()
