"""The elacsym_* functions of SQL: namespaces, stats, recall, compaction, the cluster."""
