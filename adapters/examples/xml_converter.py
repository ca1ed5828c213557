#!/usr/bin/env python3
# A tsunagi converter plugin (protocol v1, role "converter"). tsunagi hands it each stored file
# of its format (here: a vendor-style XML export, UTF-8 or Shift_JIS) and it answers with
# canonical records as JSON ("canonical-json"); tsunagi maps, builds, validates and sends them.
# tsunagi 変換プラグイン（プロトコル v1、role "converter"）の例。ベンダー独自の XML を受け取り、
# 正準レコード (canonical-json) を返します。
import base64
import json
import re
import sys
import xml.etree.ElementTree as ET


def send(message):
    sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def text_of(raw):
    # pyexpat reads only single-byte and UTF encodings: decode by the declaration ourselves.
    head = raw[:200].decode("ascii", "replace")
    m = re.search(r'encoding="([A-Za-z0-9_-]+)"', head)
    encoding = m.group(1) if m else "utf-8"
    text = raw.decode(encoding)
    return re.sub(r"^\s*<\?xml[^>]*\?>", "", text)


def patient(p):
    kanji = (p.findtext("Name[@kind='kanji']") or "").split(" ", 1)
    kana = (p.findtext("Name[@kind='kana']") or "").split(" ", 1)
    ins = p.find("Insurance")
    return {
        "type": "Patient",
        "local_id": p.get("id"),
        "name_kanji": {"family": kanji[0], "given": kanji[-1]},
        "name_kana": {"family": kana[0], "given": kana[-1]},
        "gender": {"M": "male", "F": "female"}.get(p.findtext("Sex"), "unknown"),
        "birth_date": p.findtext("Birth"),
        "address": p.findtext("Address"),
        "insurance": None if ins is None else {
            "insurer_number": ins.get("insurer"),
            "symbol": ins.get("symbol", ""),
            "number": ins.get("number"),
            "branch": ins.get("branch", ""),
        },
    }


def records(root):
    for p in root.iter("Patient"):
        yield patient(p)
        for d in p.iter("Diagnosis"):
            yield {
                "type": "Condition",
                "patient_id": p.get("id"),
                "record_id": d.get("id"),
                "original_text": d.text or "",
                "disease_key": d.get("medis"),
                "icd10": (d.get("icd10") or "").replace(".", "") or None,
                "onset": d.get("start"),
                "principal": d.get("main") == "true",
                "suspected": d.get("suspected") == "true",
            }
        for a in p.iter("Allergy"):
            yield {
                "type": "Allergy",
                "patient_id": p.get("id"),
                "record_id": a.get("id"),
                "original_text": a.text or "",
                "category": a.get("kind", "unknown"),
                "allergen": {"system": "J-FAGY", "code": a.get("jfagy")} if a.get("jfagy") else None,
            }


def convert(message):
    try:
        root = ET.fromstring(text_of(base64.b64decode(message["data"])))
    except (ET.ParseError, UnicodeDecodeError, LookupError) as e:
        # Say where, never what: the input is patient data.
        where = f"line {e.position[0]}" if isinstance(e, ET.ParseError) else "$"
        send({"type": "refused", "id": message["id"], "field": where,
              "reason_en": "not well-formed XML in the declared encoding",
              "reason_ja": "宣言された文字コードの整形式 XML ではありません"})
        return
    for n, record in enumerate(records(root)):
        send({"type": "record", "id": f"{message['id']}-{n}", "format": "canonical-json", "data": record})
    send({"type": "converted", "id": message["id"]})


def main():
    send({"type": "hello", "protocol": 1, "name": "sample-xml-converter", "version": "1.0.0",
          "role": "converter", "produces": ["canonical-json"]})
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") == "convert":
            convert(message)
    # stdin closed: tsunagi is stopping; exit at once.


if __name__ == "__main__":
    main()
