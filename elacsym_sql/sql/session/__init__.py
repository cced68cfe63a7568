"""What a session carries: settings, transaction block, cursors, file access, memory limit."""
