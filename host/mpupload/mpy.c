/* mpy-cross, matched to the board: the .mpy version must be the board's, the
 * native arch and small-int width too. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "mpy.h"

static const char *const arch_names[] = {
    NULL, "x86", "x64", "armv6", "armv6m", "armv7m", "armv7em", "armv7emsp", "armv7emdp",
    "xtensa", "xtensawin", "rv32imc", "debug",
};

const char *mpu_mpy_arch_name(int arch) {
    if (arch <= 0 || arch >= (int)(sizeof(arch_names) / sizeof(arch_names[0]))) {
        return NULL;
    }
    return arch_names[arch];
}

const char *mpu_mpy_cross_path(const char *explicit_path, char *buf, size_t len) {
    if (explicit_path && *explicit_path) {
        return explicit_path;
    }
    const char *env = getenv("MPY_CROSS");
    if (env && *env) {
        return env;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, len, "%s/mpy-cross", self);
            if (access(buf, X_OK) == 0) {
                return buf;
            }
        }
    }
    return "mpy-cross";
}

int mpu_mpy_run(char *const argv[], char *out, size_t out_len) {
    int p[2];
    if (pipe(p) < 0) {
        snprintf(out, out_len, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(out, out_len, "fork: %s", strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        fprintf(stderr, "cannot run %s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    size_t o = 0;
    for (;;) {
        char buf[512];
        ssize_t n = read(p[0], buf, sizeof(buf));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        size_t k = (size_t)n < out_len - 1 - o ? (size_t)n : out_len - 1 - o;
        memcpy(out + o, buf, k);
        o += k;
    }
    out[o] = 0;
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    while (o > 0 && (out[o - 1] == '\n' || out[o - 1] == '\r')) {
        out[--o] = 0;
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int mpu_mpy_compile(const char *mpy_cross, const struct mpu_mpy_target *t, const char *src_path,
    const char *source_name, uint8_t **out, size_t *out_len, char *err, size_t err_len) {
    *out = NULL;
    *out_len = 0;
    char msg[2048];
    char *vargv[] = { (char *)mpy_cross, "--version", NULL };
    int st = mpu_mpy_run(vargv, msg, sizeof(msg));
    if (st != 0) {
        snprintf(err, err_len, "cannot run mpy-cross (%s): %s; give one with --mpy-cross PATH",
            mpy_cross, msg);
        return MPU_ERR_MPYCROSS;
    }
    /* "MicroPython v1.25.0 on 2025-04-15; mpy-cross emitting mpy v6.3" */
    const char *v = strstr(msg, "mpy v");
    int ver = 0, sub = 0;
    if (!v || sscanf(v, "mpy v%d.%d", &ver, &sub) < 1) {
        snprintf(err, err_len, "%s: cannot tell which .mpy version it emits (\"%s\")", mpy_cross, msg);
        return MPU_ERR_MPYCROSS;
    }
    int arch = t->features >> 2, bsub = t->features & 3;
    if (t->version == 0) {
        /* The board's doing (or its answer's, damaged on the line), not mpy-cross's. */
        snprintf(err, err_len, "the board does not say which .mpy files it loads "
            "(no sys.implementation._mpy); run the source instead");
        return MPU_ERR_SUPP;
    }
    if (ver != t->version || (arch != 0 && sub != bsub)) {
        snprintf(err, err_len, "the board loads .mpy v%d.%d but %s emits v%d.%d; "
            "use an mpy-cross of the board's MicroPython version (--mpy-cross PATH)",
            t->version, bsub, mpy_cross, ver, sub);
        return MPU_ERR_MPYCROSS;
    }
    const char *march = mpu_mpy_arch_name(arch);
    if (arch != 0 && !march) {
        snprintf(err, err_len, "the board's native arch %d is unknown to mpupload", arch);
        return MPU_ERR_MPYCROSS;
    }
    const char *tmpdir = getenv("TMPDIR");
    char path[4200];
    snprintf(path, sizeof(path), "%s/mpupload-XXXXXX.mpy", tmpdir && *tmpdir ? tmpdir : P_tmpdir);
    int fd = mkstemps(path, 4);
    if (fd < 0) {
        snprintf(err, err_len, "temporary file: %s", strerror(errno));
        return MPU_ERR_MPYCROSS;
    }
    close(fd);
    char marchopt[64], bitsopt[64];
    char *argv[12];
    int a = 0;
    argv[a++] = (char *)mpy_cross;
    argv[a++] = "-o";
    argv[a++] = path;
    argv[a++] = "-s";
    argv[a++] = (char *)source_name;
    if (march) {
        snprintf(marchopt, sizeof(marchopt), "-march=%s", march);
        argv[a++] = marchopt;
    }
    if (t->small_int_bits > 0) {
        snprintf(bitsopt, sizeof(bitsopt), "-msmall-int-bits=%d", t->small_int_bits);
        argv[a++] = bitsopt;
    }
    argv[a++] = "--";
    argv[a++] = (char *)src_path;
    argv[a] = NULL;
    st = mpu_mpy_run(argv, msg, sizeof(msg));
    if (st != 0) {
        snprintf(err, err_len, "mpy-cross failed:\n%s", msg);
        unlink(path);
        return MPU_ERR_MPYCROSS;
    }
    FILE *f = fopen(path, "rb");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0 || sb.st_size <= 4) {
        snprintf(err, err_len, "mpy-cross wrote no output");
        if (f) {
            fclose(f);
        }
        unlink(path);
        return MPU_ERR_MPYCROSS;
    }
    *out = malloc((size_t)sb.st_size);
    if (*out && fread(*out, 1, (size_t)sb.st_size, f) == (size_t)sb.st_size) {
        *out_len = (size_t)sb.st_size;
    }
    fclose(f);
    unlink(path);
    if (!*out_len) {
        free(*out);
        *out = NULL;
        snprintf(err, err_len, "cannot read mpy-cross output");
        return MPU_ERR_MPYCROSS;
    }
    return MPU_OK;
}
