"""Reports people file: XLSX and PDF tables, Excel-ready CSV, numbers as people read them.

Everything here turns rows already read by ``published.results`` into documents; nothing reads
the database, so the result shapes of the read side flow straight into the reports.
"""
