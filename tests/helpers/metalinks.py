"""Reading a Metalink 4 document in tests."""

from __future__ import annotations

import defusedxml.ElementTree as DET

from take5_ops.distribution.metalink import NS

M = f"{{{NS}}}"


def parse(data: bytes) -> dict[str, dict]:
    """The files of a Metalink by name: size, sha-256, urls; checks the document's shape."""
    root = DET.fromstring(data)
    assert root.tag == M + "metalink"
    files = {}
    for node in root.findall(M + "file"):
        hashes = node.findall(M + "hash")
        assert [h.get("type") for h in hashes] == ["sha-256"]
        files[node.get("name")] = {"size": int(node.findtext(M + "size")), "sha256": hashes[0].text,
                                   "urls": [u.text for u in node.findall(M + "url")]}
    assert files and len(files) == len(root.findall(M + "file"))
    return files
