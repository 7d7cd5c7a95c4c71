"""Accuracy evaluation on labelled footage: capture rate, valid rate, tracking quality.

``crossguard eval`` (edge/commands/eval.py) and ``benchmarks/bench_accuracy.py`` drive it;
tests/edge/eval/ holds the regression gate. See edge/evaluation/README.md.
"""
