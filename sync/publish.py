"""Head office's bundle tool: make keys, and build a signed manifest for mosquitto_pub.

    python -m sync.publish keygen --out config/keys/chain
    python -m sync.publish build --chain demo --scope store/s001 --version 3 \\
        --key config/keys/chain.key content.json > manifest.json
    mosquitto_pub -V mqttv5 -q 1 -r -t se/v1/demo/bundle/store/s001 -f manifest.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .protocol import bundle, signing
from .protocol.acceptance import check_content
from .protocol.content import ContentError, validate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="store-edge-bundle", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="cmd", required=True)
    keygen = sub.add_parser("keygen", help="write <out>.key (private, keep at head office) and <out>.pub")
    keygen.add_argument("--out", required=True)
    build = sub.add_parser("build", help="print a signed manifest for a content JSON file")
    build.add_argument("--chain", required=True)
    build.add_argument("--scope", required=True, help="chain, region/<r>, store/<s> or device/<d>")
    build.add_argument("--version", type=int, required=True)
    build.add_argument("--key", required=True, help="the chain's private key (PEM)")
    build.add_argument("--mode", choices=bundle.MODES, default="snapshot")
    build.add_argument("--url", help="serve the content here instead of inline; writes <content>.gz beside it")
    build.add_argument("content", help="the bundle content as JSON")
    args = parser.parse_args(argv)

    if args.cmd == "keygen":
        key = signing.generate_private_key()
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(out.with_suffix(".key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # 0600 from the start
        except FileExistsError:
            print(f"sync.publish: {out.with_suffix('.key')} exists; a key is never overwritten (choose another --out)",
                  file=sys.stderr)
            return 1
        with os.fdopen(fd, "wb") as f:
            f.write(signing.private_key_pem(key))
        out.with_suffix(".pub").write_bytes(signing.public_key_pem(key.public_key()))
        kid = signing.key_id(key.public_key())
        print(f"wrote {out.with_suffix('.key')} and {out.with_suffix('.pub')} (key id {kid})")
        return 0

    try:
        content = validate(json.loads(Path(args.content).read_text()), delta=args.mode == "delta")
    except (OSError, ValueError, ContentError) as exc:
        print(f"store-edge-bundle: {args.content}: {exc}", file=sys.stderr)
        return 2
    # One scope alone: references into sections it does not hold wait for the device, which has the rest.
    problems = check_content(content)
    for problem in problems:
        print(f"store-edge-bundle: {args.content}: {problem}", file=sys.stderr)
    if problems:
        return 2
    manifest, data = bundle.build_manifest(chain=args.chain, scope=args.scope, version=args.version,
                                           content=content, key=signing.load_private_key(args.key),
                                           mode=args.mode, url=args.url)
    if args.url:
        Path(args.content + ".gz").write_bytes(data)
    print(json.dumps(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
