/* faulty_vfs.h: a SQLite VFS that fails on request, for fault-injection tests.
 *
 * faulty_vfs_register() adds a VFS named "faulty" (not the default) that
 * passes everything to the default VFS (unix), except that it can be told to
 * fail the Nth xWrite or xSync from now on, once or from then on, with a
 * given SQLite error code (SQLITE_FULL, SQLITE_IOERR_WRITE, SQLITE_IOERR_FSYNC,
 * ...). A failed write writes nothing; a failed sync syncs nothing (the
 * data written before it stays in the file, as after a real fsync error).
 *
 * Not thread-safe: the tests drive one connection from one thread. */
#ifndef VIGIL_TESTS_FAULTY_VFS_H
#define VIGIL_TESTS_FAULTY_VFS_H

#define FAULTY_VFS_NAME "faulty"

typedef enum faulty_op { FAULTY_WRITE, FAULTY_SYNC } faulty_op;

/* Which files count: any, or only the database file (what a checkpoint
 * writes), or only the write-ahead log (what a commit writes). */
typedef enum faulty_files { FAULTY_ANY_FILE, FAULTY_DB_FILE, FAULTY_WAL_FILE } faulty_files;

/* Registers "faulty" once (later calls do nothing). 0 or a SQLite error. */
int faulty_vfs_register(void);

/* From now on, the nth call (1: the very next) of op fails with err; with
 * sticky, every call from then on fails too, until faulty_vfs_clear(). Also
 * resets the counters. faulty_vfs_arm_on: counting only calls on those files
 * (faulty_vfs_arm counts every file). */
void faulty_vfs_arm(faulty_op op, int nth, int err, int sticky);
void faulty_vfs_arm_on(faulty_files files, faulty_op op, int nth, int err, int sticky);
void faulty_vfs_clear(void);

/* Calls of each op since the last arm/clear (failed ones included), and how
 * many failures were injected. */
int faulty_vfs_writes(void);
int faulty_vfs_syncs(void);
int faulty_vfs_failures(void);

#endif
