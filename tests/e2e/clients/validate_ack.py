"""Validates tsunagi's ACK messages with hl7apy (a parser nobody in this project wrote).

Usage: python validate_ack.py DIR   -- every DIR/*.hl7 file holds one ACK (segments end with \r).
Each is parsed with STRICT validation against the version in its MSH-12 (files named
*.lenient.hl7: TOLERANT, for ACKs that cannot name MSA-2); prints "<file> valid" per ACK, or the
error and exits 1.
"""
import pathlib
import sys

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message


def main(folder):
    ok = True
    for path in sorted(pathlib.Path(folder).glob("*.hl7")):
        text = path.read_bytes().decode("ascii")
        try:
            lenient = path.name.endswith(".lenient.hl7")
            level = VALIDATION_LEVEL.TOLERANT if lenient else VALIDATION_LEVEL.STRICT
            msg = parse_message(text, validation_level=level, find_groups=False)
            if not lenient:
                msg.validate()
            assert msg.msh.msh_9.to_er7().split("^")[-1] == "ACK", "MSH-9 is not ACK^<trigger>^ACK"
            assert msg.msa.msa_1.to_er7() in ("AA", "AE", "AR", "CA", "CE", "CR")
            print(f"{path.name} valid ({msg.msa.msa_1.to_er7()})")
        except Exception as e:  # report every failure, then fail
            ok = False
            print(f"{path.name} INVALID: {type(e).__name__}: {e}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
