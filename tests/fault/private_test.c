// Fault suite, privacy: whatever umask llmcostd starts with and whatever
// mode its data directory had, the directory ends up 0700, the socket
// 0600 and the store's files 0600, and another user cannot connect.
//
// - world_writable_dir: umask 000 and a data directory left 0777 (an
//   operator's run had another user inject 5 calls through the 0777
//   socket this gave).  The directory is tightened, and says so in the
//   log; a process of user "nobody" cannot connect.  (The other-user
//   check needs root to switch users; without root it says so and the
//   mode checks still run.)
// - foreign_dir_refused: a world-writable directory that belongs to
//   another user is refused with the commands to run (needs root to
//   create it; without root it says so).
// - shared_dir_refused: a sticky world-writable directory (like /tmp)
//   is refused, not tightened.
// - fresh_dir: umask 000 and no directory: created 0700.
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"

static unsigned
mode_of(const char *dir, const char *name)
{
	char path[1200];
	struct stat st;

	snprintf(path, sizeof(path), "%s%s%s", dir, name[0] ? "/" : "", name);
	if (lstat(path, &st) != 0) {
		fail_msg("lstat %s: %s", path, strerror(errno));
	}
	return ((unsigned) (st.st_mode & 07777));
}

static void
check_private(const char *data)
{
	assert_int_equal(mode_of(data, ""), 0700);
	assert_int_equal(mode_of(data, "llmcostd.sock"), 0600);
	assert_int_equal(mode_of(data, "data.mdb"), 0600);
	assert_int_equal(mode_of(data, "lock.mdb"), 0600);
	assert_int_equal(mode_of(data, "llmcostd.lock"), 0600);
}

// As user nobody, connect to data's socket.  Returns the errno of the
// failed connect, or 0 when it connected.
static int
connect_as_nobody(const char *data)
{
	struct passwd *pw = getpwnam("nobody");
	int pfd[2];
	pid_t pid;
	int err = -1;

	assert_non_null(pw);
	assert_int_equal(pipe(pfd), 0);
	if ((pid = fork()) == 0) {
		struct sockaddr_un a;
		int e = 0;
		close(pfd[0]);
		if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
			e = -2;
		} else {
			memset(&a, 0, sizeof(a));
			a.sun_family = AF_UNIX;
			snprintf(a.sun_path, sizeof(a.sun_path),
			    "%s/llmcostd.sock", data);
			int fd = socket(AF_UNIX, SOCK_STREAM, 0);
			e = connect(fd, (struct sockaddr *) &a, sizeof(a)) == 0
			    ? 0
			    : errno;
		}
		ssize_t n = write(pfd[1], &e, sizeof(e));
		_exit(n == sizeof(e) ? 0 : 1);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &err, sizeof(err)), sizeof(err));
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	assert_int_not_equal(err, -2);
	return (err);
}

// A fresh directory (*dirp, harness_tmpdir) and in it the paths of a
// data directory (sub, not created) and of the daemon's log.
static void
fresh_paths(char **dirp, char data[1100], char log[1200], const char *sub)
{
	*dirp = harness_tmpdir();
	assert_non_null(*dirp);
	snprintf(data, 1100, "%s/%s", *dirp, sub);
	snprintf(log, 1200, "%s/llmcostd.log", *dirp);
}

static void
test_world_writable_dir(void **state)
{
	(void) state;
	char *dir;
	char data[1100], log[1200];
	int status = -1;

	fresh_paths(&dir, data, log, "data");
	assert_int_equal(mkdir(data, 0700), 0);
	assert_int_equal(chmod(data, 0777), 0);
	// The parent lets anyone through, so only the data directory and
	// the socket stand between another user and llmcostd.
	assert_int_equal(chmod(dir, 0755), 0);
	fault_daemon_opts o
	    = { .dir = data, .log = log, .umask_set = 1, .umask_val = 0 };
	pid_t d = fault_daemon_start(&o, &status);
	assert_true(d > 0);

	check_private(data);
	assert_int_equal(fault_count_in_file(log,
	                     "from mode 0777 to 0700: it holds the ingest "
	                     "socket and the store"),
	    1);
	if (geteuid() == 0) {
		int e = connect_as_nobody(data);
		print_message("user nobody's connect: %s\n",
		    e == 0 ? "connected" : strerror(e));
		assert_int_equal(e, EACCES);
		// The socket's own mode holds even where the directory
		// would let another user through.
		assert_int_equal(chmod(data, 0711), 0);
		e = connect_as_nobody(data);
		print_message("user nobody's connect through a 0711 "
		              "directory: %s\n",
		    e == 0 ? "connected" : strerror(e));
		assert_int_equal(e, EACCES);
		assert_int_equal(chmod(data, 0700), 0);
	} else {
		print_message("not root: the connect as another user is not "
		              "tried; the modes were checked\n");
	}
	assert_int_equal(fault_daemon_term(d, 8000), 0);
	harness_rmdir(dir);
}

static void
test_foreign_dir_refused(void **state)
{
	(void) state;
	char *dir;
	char data[1100], log[1200];

	if (geteuid() != 0) {
		print_message("not root: cannot give a directory to another "
		              "user; not tried\n");
		return;
	}
	struct passwd *pw = getpwnam("nobody");
	assert_non_null(pw);
	fresh_paths(&dir, data, log, "data");
	assert_int_equal(mkdir(data, 0700), 0);
	assert_int_equal(chown(data, pw->pw_uid, pw->pw_gid), 0);
	assert_int_equal(chmod(data, 0777), 0);
	fault_daemon_opts o = { .dir = data, .log = log };
	// A world-writable directory of another user.
	assert_int_equal(fault_daemon_refused(&o), 1);
	char want[2400];
	snprintf(
	    want, sizeof(want), "run: chown 0 %s && chmod 700 %s", data, data);
	assert_int_equal(fault_count_in_file(log, want), 1);
	assert_int_equal(mode_of(data, ""), 0777); // not touched
	harness_rmdir(dir);
}

// A shared sticky directory (/tmp and its kind) is refused, never
// tightened: chmod 700 on it would lock every other user out.
static void
test_shared_dir_refused(void **state)
{
	(void) state;
	char *dir;
	char data[1100], log[1200];
	fresh_paths(&dir, data, log, "shared");
	assert_int_equal(mkdir(data, 0700), 0);
	assert_int_equal(chmod(data, 01777), 0);
	fault_daemon_opts o = { .dir = data, .log = log };
	assert_int_equal(fault_daemon_refused(&o), 1);
	assert_int_equal(fault_count_in_file(log,
	                     "is a shared directory; give llmcostd a "
	                     "directory of its own"),
	    1);
	assert_int_equal(mode_of(data, ""), 01777);
	harness_rmdir(dir);
}

static void
test_fresh_dir(void **state)
{
	(void) state;
	char *dir;
	char data[1100], log[1200];
	int status = -1;

	fresh_paths(&dir, data, log, "a/b/data");
	fault_daemon_opts o
	    = { .dir = data, .log = log, .umask_set = 1, .umask_val = 0 };
	pid_t d = fault_daemon_start(&o, &status);
	assert_true(d > 0);
	check_private(data);
	snprintf(data, sizeof(data), "%s/a", dir);
	assert_int_equal(mode_of(data, ""), 0700);
	snprintf(data, sizeof(data), "%s/a/b/data", dir);
	assert_int_equal(fault_daemon_term(d, 8000), 0);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_world_writable_dir),
		cmocka_unit_test(test_foreign_dir_refused),
		cmocka_unit_test(test_shared_dir_refused),
		cmocka_unit_test(test_fresh_dir),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
