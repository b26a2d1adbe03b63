-- Last step of every install and upgrade: premake the partitions of the coming months.
SELECT pyevents.ensure_partitions() AS partitions_created;
