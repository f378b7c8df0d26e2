"""Storage: Arrow IPC stream files per signal, partitioned by date and hour."""
