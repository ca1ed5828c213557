"""python-hl7 on the same ORU^R01 that `cargo bench -p tsunagi-adapters --bench parse` uses.

Run: bash tests/e2e/clients/install.sh && target/mllp-clients-venv/bin/python tests/bench/python_hl7_parse.py
Reports messages per second of process CPU time, parse only (hl7.parse) and parse + reading
every field, on one core. The message is kept identical to adapters/benches/parse.rs.
"""
import time

import hl7

SEGMENTS = [
    "MSH|^~\\&|HIS123|SEND|GW|RCV|20250502114816||ORU^R01^ORU_R01|29801499011|P|2.5||||||~ISO IR87||ISO 2022-1994",
    "PID|0001||1099410892^^^^PI||試験^花子^^^^^L^I~シケン^ハナコ^^^^^L^P||19800102|F|||^^^^100-0001^JPN^H^東京都千代田区千代田99丁目1番",
    "PV1|0001|O|013^^^^^C",
    "OBR|1|000029801499011|000029801499012|3^生化学的検査^JC10|||202505021003",
    "OBX|1|NM|3A010000002327101^総蛋白^JC10||6.5|g/dL^g/dL^99XYZ|6.5-8.0|N|||F|||202505021003",
    "OBX|2|NM|3A015000002327101^アルブミン^JC10||4.0|g/dL^g/dL^99XYZ|3.8-5.2|N|||F|||202505021003",
    "OBX|3|NM|3B035000002327201^AST(GOT)^JC10||27|U/L^U/L^99XYZ|13-30|N|||F|||202505021003",
    "OBX|4|NM|3B045000002327201^ALT(GPT)^JC10||14|U/L^U/L^99XYZ|7-23|N|||F|||202505021003",
    "OBX|5|NM|3C015000002327101^クレアチニン^JC10||0.76|mg/dL^mg/dL^99XYZ|0.46-0.79|N|||F|||202505021003",
    "OBX|6|ST|1A990000000191153^尿蛋白定性^JC10||±\\F\\再検||||||F|||202505021003",
]
TEXT = "\r".join(SEGMENTS)


def rate(fn, seconds=3.0):
    n, start = 0, time.process_time()
    while time.process_time() - start < seconds:
        for _ in range(200):
            fn()
        n += 200
    return n / (time.process_time() - start)


def parse_only():
    hl7.parse(TEXT)


def parse_and_read():
    m = hl7.parse(TEXT)
    for seg in m:
        for field in seg:
            str(field)


if __name__ == "__main__":
    print(f"python-hl7 {hl7.__version__ if hasattr(hl7, '__version__') else ''} parse:            {rate(parse_only):>10.0f} msg/s")
    print(f"python-hl7 parse + read every field: {rate(parse_and_read):>10.0f} msg/s")
