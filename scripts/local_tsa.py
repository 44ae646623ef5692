"""A throwaway RFC 3161 time-stamping authority on loopback, for trying ``LEDGER_TSA_URLS`` out.

Makes a root CA and a TSA certificate (critical timeStamping extended key usage) in FOLDER,
then serves ``openssl ts -reply`` at ``http://127.0.0.1:PORT/`` until Ctrl-C: the same local
authority the tests use (tests/support/tsa.py). Never for production: its CA key lies in
FOLDER, and anyone who can read it can issue tokens your ledger would trust. Needs ``openssl``.

    python scripts/local_tsa.py ./try-tsa [--port 3161]

It prints the two settings to give ``ledger serve``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, from a clone


async def serve(folder: Path, port: int) -> None:
    from tests.support.tsa import LocalTsa, make_pki

    pki = make_pki(folder, label="try-out")
    tsa = await LocalTsa(pki).start(port)
    url = tsa.url
    print(f"LEDGER_TSA_URLS={url}", flush=True)
    print(f"LEDGER_TSA_CA_FILE={pki.ca_file.resolve()}", flush=True)
    print("serving until Ctrl-C (a throwaway authority: never for production)", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path, help="where the CA and TSA files are written")
    parser.add_argument("--port", type=int, default=0,
                        help="the loopback port (default: one the system picks)")
    args = parser.parse_args(argv)
    if shutil.which("openssl") is None:
        print("error: needs the openssl command (Debian package openssl)", file=sys.stderr)
        return 2
    args.folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.folder, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
