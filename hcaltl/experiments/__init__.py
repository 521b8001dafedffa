"""The book's experiments wing: everything that exists for the chapters, built on the library.

* :mod:`~hcaltl.experiments.presets` — the one scale knob (fast, paper);
* :mod:`~hcaltl.experiments.chapter` — the three-line set-up every chapter calls (preset, HB windows, HE source);
* :mod:`~hcaltl.experiments.transfer_study`, :mod:`~hcaltl.experiments.detection_study`,
  :mod:`~hcaltl.experiments.multihead_study`, :mod:`~hcaltl.experiments.hcal_heads` — the studies of chapters 4–6;
* :mod:`~hcaltl.experiments.sweep` — the papermill sweep of chapter 4 at paper scale;
* :mod:`~hcaltl.experiments.paper_values` — the papers' published numbers;
* :mod:`~hcaltl.experiments.headlines` — the chapters' key numbers in sentences;
* :mod:`~hcaltl.experiments.provenance` — versions, machine and commit for results files and the status page.

The library (``hcaltl.*`` outside this folder) never imports from here.
"""
