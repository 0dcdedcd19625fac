"""The fleet report: crashes of many hosts and the rollout of their fixes as static HTML.

``model`` folds ``kmend.triage`` scan results and the hosts' install journals into one
record per signature (pure); ``journals`` reads the journals; ``timeline`` lays out the
inline SVG; ``render`` writes the pages with Jinja2 (autoescaped: log text never becomes
markup).
"""
