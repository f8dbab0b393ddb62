"""Reading published results for people and HR systems, apart from computing them: the
API's explanations, lists and comparisons. Analysts read the same rows through SQL views
(docs/results_sql.md)."""
