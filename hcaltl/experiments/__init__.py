"""The book's experiments wing: everything that exists for the chapters, built on the library.

* :mod:`~hcaltl.experiments.presets` — the one scale knob (fast, paper);
* :mod:`~hcaltl.experiments.chapter` — the three-line set-up every chapter calls (preset, HB windows, HE source);
* :mod:`~hcaltl.experiments.ablations` and :mod:`~hcaltl.experiments.baseline_study` — chapter 3's ablations and
  chapter 5's comparison with the simple detectors;
* :mod:`~hcaltl.experiments.transfer_study`, :mod:`~hcaltl.experiments.detection_study`,
  :mod:`~hcaltl.experiments.multihead_study`, :mod:`~hcaltl.experiments.hcal_heads`,
  :mod:`~hcaltl.experiments.online_study` — the studies of chapters 4–7;
* :mod:`~hcaltl.experiments.cells` and :mod:`~hcaltl.experiments.sweep` — the paper-scale cells and their sweep
  on Dask;
* :mod:`~hcaltl.experiments.paper_scale` — the sweep's tables, the papers' claims judged from them, and each
  chapter's paper-scale section;
* :mod:`~hcaltl.experiments.paper_values` — the papers' published numbers;
* :mod:`~hcaltl.experiments.headlines` — the chapters' key numbers in sentences;
* :mod:`~hcaltl.experiments.provenance` — versions, machine and commit for results files and the status page.

The library (``hcaltl.*`` outside this folder) never imports from here.
"""
