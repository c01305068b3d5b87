"""The policy author's tools beyond acceptance: the semantic diff of two
compiled policies and the members it touches (diff.py, impact in models.impact),
`authz policy diff` as one function (compare.py), and its reports as text, JSON
or Markdown (report.py).

May import: authz.engine, models (the impact queries), the shared modules."""
