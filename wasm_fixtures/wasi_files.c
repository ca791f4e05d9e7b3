// WASI files and directories under the preopened /sandbox, compared between
// wasmtime's WASI and workers.wasi_preview1 (tests/test_wasi_preview1.py): both
// must print the same lines and leave the same tree. Only stable values are
// printed (no inode numbers, no times but those set here).
//
// The sandbox starts with: data.txt ("0123456789"), dir/ with dir/inner.txt
// ("inner"), empty/, link_in -> data.txt, link_dir -> dir, link_out -> ../outside.txt,
// link_abs -> /etc/passwd. outside.txt sits beside the sandbox.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHECK(what, expr)                                                     \
    do {                                                                      \
        errno = 0;                                                            \
        long _r = (long)(expr);                                               \
        printf("%-40s -> %ld errno %d\n", what, _r, _r < 0 ? errno : 0);      \
    } while (0)

static const char *type_of(mode_t mode) {
    if (S_ISREG(mode)) return "file";
    if (S_ISDIR(mode)) return "dir";
    if (S_ISLNK(mode)) return "link";
    return "other";
}

static void show_stat(const char *what, const char *path, int follow) {
    struct stat st;
    errno = 0;
    int r = follow ? stat(path, &st) : lstat(path, &st);
    if (r < 0) {
        printf("%-40s -> errno %d\n", what, errno);
        return;
    }
    printf("%-40s -> %s size %lld nlink %lld\n", what, type_of(st.st_mode),
           (long long)st.st_size, (long long)st.st_nlink);
}

static int compare(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void list(const char *path) {
    DIR *d = opendir(path);
    if (!d) {
        printf("opendir %s -> errno %d\n", path, errno);
        return;
    }
    char *names[64];
    int count = 0;
    struct dirent *e;
    while ((e = readdir(d)) && count < 64) {
        char line[300];
        snprintf(line, sizeof line, "%s(%s)", e->d_name,
                 e->d_type == DT_DIR ? "d" : e->d_type == DT_REG ? "f" : e->d_type == DT_LNK ? "l" : "?");
        names[count++] = strdup(line);
    }
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], compare);
    printf("ls %s:", path);
    for (int i = 0; i < count; i++) {
        printf(" %s", names[i]);
        free(names[i]);
    }
    printf("\n");
}

static void read_file(const char *what, const char *path) {
    char buf[128];
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        printf("%-40s -> errno %d\n", what, errno);
        return;
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n < 0 ? 0 : n] = 0;
    printf("%-40s -> [%s]\n", what, buf);
}

int main(void) {
    char buf[64];

    // -- reading, seeking, positions ---------------------------------------------
    int fd = open("/sandbox/data.txt", O_RDWR);
    CHECK("open data.txt rw", fd);
    CHECK("read 4", read(fd, buf, 4));
    CHECK("lseek cur", lseek(fd, 0, SEEK_CUR));
    CHECK("lseek end -3", lseek(fd, -3, SEEK_END));
    CHECK("read rest", read(fd, buf, sizeof buf));
    CHECK("read at eof", read(fd, buf, sizeof buf));
    CHECK("lseek negative", lseek(fd, -100, SEEK_SET));
    CHECK("pread 3 at 2", pread(fd, buf, 3, 2));
    printf("pread got [%.3s]\n", buf);
    CHECK("pwrite AB at 8", pwrite(fd, "AB", 2, 8));
    CHECK("lseek past end", lseek(fd, 20, SEEK_SET));
    CHECK("write after gap", write(fd, "Z", 1));
    CHECK("ftruncate 15", ftruncate(fd, 15));
    struct stat st;
    CHECK("fstat", fstat(fd, &st));
    printf("fstat: %s size %lld\n", type_of(st.st_mode), (long long)st.st_size);
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    CHECK("posix_fadvise", posix_fadvise(fd, 0, 10, POSIX_FADV_SEQUENTIAL));
    CHECK("posix_fallocate", posix_fallocate(fd, 0, 100));
    CHECK("fcntl getfl has O_APPEND", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK("close", close(fd));
    CHECK("close again", close(fd));
    CHECK("read closed", read(fd, buf, 1));

    // -- creating, appending, truncating ---------------------------------------
    fd = open("/sandbox/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK("create new.txt", fd >= 0);
    CHECK("write hello", write(fd, "hello\n", 6));
    CHECK("read write-only", read(fd, buf, 1));
    close(fd);
    CHECK("create new.txt again (excl)", open("/sandbox/new.txt", O_WRONLY | O_CREAT | O_EXCL, 0644));
    fd = open("/sandbox/new.txt", O_WRONLY | O_APPEND);
    CHECK("open append", fd >= 0);
    CHECK("fcntl getfl has O_APPEND", (fcntl(fd, F_GETFL) & O_APPEND) != 0);
    CHECK("lseek 0", lseek(fd, 0, SEEK_SET));
    CHECK("append world", write(fd, "world\n", 6));
    CHECK("position after append", lseek(fd, 0, SEEK_CUR));
    CHECK("fcntl setfl 0", fcntl(fd, F_SETFL, 0));
    CHECK("lseek 0", lseek(fd, 0, SEEK_SET));
    CHECK("overwrite", write(fd, "J", 1));
    close(fd);
    read_file("new.txt", "/sandbox/new.txt");
    fd = open("/sandbox/new.txt", O_RDONLY);
    CHECK("write read-only", write(fd, "x", 1));
    CHECK("ftruncate read-only", ftruncate(fd, 0));
    close(fd);
    fd = open("/sandbox/trunc.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write(fd, "to be cut", 9);
    close(fd);
    close(open("/sandbox/trunc.txt", O_WRONLY | O_TRUNC));
    show_stat("trunc.txt after O_TRUNC", "/sandbox/trunc.txt", 1);

    // -- errors ----------------------------------------------------------------------
    CHECK("open missing", open("/sandbox/missing.txt", O_RDONLY));
    CHECK("open file as dir", open("/sandbox/data.txt/x", O_RDONLY));
    CHECK("open file/", open("/sandbox/data.txt/", O_RDONLY));
    CHECK("open dir for writing", open("/sandbox/dir", O_WRONLY));
    CHECK("open O_DIRECTORY on file", open("/sandbox/data.txt", O_RDONLY | O_DIRECTORY));
    CHECK("read a directory fd", read(open("/sandbox/dir", O_RDONLY | O_DIRECTORY), buf, 1));
    CHECK("mkdir existing", mkdir("/sandbox/dir", 0755));
    CHECK("rmdir non-empty", rmdir("/sandbox/dir"));
    CHECK("rmdir a file", rmdir("/sandbox/data.txt"));
    CHECK("unlink a dir", unlink("/sandbox/dir"));
    CHECK("unlink missing", unlink("/sandbox/nothing"));
    CHECK("rename missing", rename("/sandbox/nothing", "/sandbox/other"));
    CHECK("rename dir into itself", rename("/sandbox/dir", "/sandbox/dir/sub"));
    CHECK("rename file over dir", rename("/sandbox/data.txt", "/sandbox/dir"));

    // -- escapes: none may leave the sandbox -----------------------------------
    CHECK("open ../outside.txt", open("/sandbox/../outside.txt", O_RDONLY));
    CHECK("open dir/../../outside.txt", open("/sandbox/dir/../../outside.txt", O_RDONLY));
    CHECK("open /etc/passwd", open("/etc/passwd", O_RDONLY));
    CHECK("open link_out", open("/sandbox/link_out", O_RDONLY));
    CHECK("open link_abs", open("/sandbox/link_abs", O_RDONLY));
    CHECK("open link_out nofollow", open("/sandbox/link_out", O_RDONLY | O_NOFOLLOW));
    show_stat("stat link_out", "/sandbox/link_out", 1);
    show_stat("lstat link_out", "/sandbox/link_out", 0);
    show_stat("stat ../outside.txt", "/sandbox/../outside.txt", 1);
    CHECK("mkdir ../escape", mkdir("/sandbox/../escape", 0755));
    CHECK("unlink ../outside.txt", unlink("/sandbox/../outside.txt"));
    CHECK("rename ../outside.txt in", rename("/sandbox/../outside.txt", "/sandbox/stolen"));
    CHECK("rename data.txt out", rename("/sandbox/data.txt", "/sandbox/../data.txt"));
    CHECK("link ../outside.txt in", link("/sandbox/../outside.txt", "/sandbox/hard"));
    CHECK("symlink absolute", symlink("/etc/passwd", "/sandbox/abs2"));
    CHECK("symlink escaping (made, harmless)", symlink("../outside.txt", "/sandbox/rel_out"));
    CHECK("open rel_out", open("/sandbox/rel_out", O_RDONLY));
    CHECK("readlink link_abs", readlink("/sandbox/link_abs", buf, sizeof buf));

    // -- symlinks and links ----------------------------------------------------------
    CHECK("symlink made", symlink("dir/inner.txt", "/sandbox/to_inner"));
    ssize_t n = readlink("/sandbox/to_inner", buf, sizeof buf);
    printf("readlink to_inner -> %.*s\n", (int)(n < 0 ? 0 : n), buf);
    n = readlink("/sandbox/to_inner", buf, 3);
    printf("readlink truncated -> %zd [%.*s]\n", n, (int)(n < 0 ? 0 : n), buf);
    CHECK("readlink a file", readlink("/sandbox/data.txt", buf, sizeof buf));
    read_file("through to_inner", "/sandbox/to_inner");
    read_file("through link_dir/inner.txt", "/sandbox/link_dir/inner.txt");
    show_stat("stat link_in", "/sandbox/link_in", 1);
    show_stat("lstat link_in", "/sandbox/link_in", 0);
    CHECK("symlink over existing", symlink("x", "/sandbox/data.txt"));
    CHECK("hard link", link("/sandbox/data.txt", "/sandbox/data.hard"));
    show_stat("data.txt after link", "/sandbox/data.txt", 1);
    CHECK("hard link a dir", link("/sandbox/dir", "/sandbox/dir.hard"));

    // -- directories -------------------------------------------------------------------
    CHECK("mkdir a", mkdir("/sandbox/a", 0755));
    CHECK("mkdir a/b", mkdir("/sandbox/a/b", 0755));
    CHECK("mkdir a/b/ (trailing slash)", mkdir("/sandbox/a/c/", 0755));
    fd = open("/sandbox/a/b/f", O_WRONLY | O_CREAT, 0644);
    write(fd, "in b", 4);
    close(fd);
    CHECK("rename a/b -> a/renamed", rename("/sandbox/a/b", "/sandbox/a/renamed"));
    CHECK("rename file over file", rename("/sandbox/trunc.txt", "/sandbox/new.txt"));
    CHECK("rename dir/ with slash", rename("/sandbox/a/c/", "/sandbox/a/d/"));
    CHECK("rename file with slash", rename("/sandbox/new.txt/", "/sandbox/x"));
    CHECK("rmdir a/d", rmdir("/sandbox/a/d"));
    CHECK("unlink data.hard", unlink("/sandbox/data.hard"));
    CHECK("unlink link_in (the link)", unlink("/sandbox/link_in"));
    list("/sandbox");
    list("/sandbox/a");
    list("/sandbox/a/renamed");
    list("/sandbox/link_dir");

    // -- times -------------------------------------------------------------------------
    struct timespec times[2] = {{1000000000, 5}, {1200000000, 7}};
    CHECK("utimensat", utimensat(AT_FDCWD, "/sandbox/data.txt", times, 0));
    stat("/sandbox/data.txt", &st);
    printf("times: %lld.%ld %lld.%ld\n", (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {1300000000, 0}};
    CHECK("utimensat omit atime", utimensat(AT_FDCWD, "/sandbox/data.txt", omit, 0));
    stat("/sandbox/data.txt", &st);
    printf("times: %lld %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    CHECK("utimensat nofollow link", utimensat(AT_FDCWD, "/sandbox/to_inner", times, AT_SYMLINK_NOFOLLOW));
    lstat("/sandbox/to_inner", &st);
    printf("link mtime: %lld\n", (long long)st.st_mtim.tv_sec);
    fd = open("/sandbox/data.txt", O_RDONLY);
    struct timespec ftimes[2] = {{1400000000, 0}, {1500000000, 0}};
    CHECK("futimens", futimens(fd, ftimes));
    fstat(fd, &st);
    printf("times: %lld %lld\n", (long long)st.st_atim.tv_sec, (long long)st.st_mtim.tv_sec);
    close(fd);

    // -- descriptors are reused ----------------------------------------------------
    int a = open("/sandbox/data.txt", O_RDONLY);
    int b = open("/sandbox/data.txt", O_RDONLY);
    close(a);
    int c = open("/sandbox/data.txt", O_RDONLY);
    printf("fd reuse: %d\n", c == a && b == a + 1);
    close(b);
    close(c);
    read_file("data.txt at the end", "/sandbox/data.txt");
    return 0;
}
