"""``stackdocs demo``: a seeded workspace that tells the product's story, offline, with no keys.

- :mod:`stackdocs.demo.facts`: the demo's business facts (vendors, invoices, the contract, the
  spend ledger) and the printed layout of the generated documents — pure data, importable inside
  a Sprite (the deterministic extractor reads the same layout);
- :mod:`stackdocs.demo.documents`: renders those facts as real files (text PDFs, a scanned
  invoice image, a DOCX contract, an XLSX ledger);
- :mod:`stackdocs.demo.missions`: the seed missions, the same texts for the agents (``--live``)
  and for the deterministic extractor (``sprite/demo_extractor.py``);
- :mod:`stackdocs.demo.seed`: drives a real bridge and Sprite to build the workspace, then
  checkpoints it.
"""
