/* Subcommands on top of a session: run, info, reset, repl. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "err.h"
#include "mpu_proto.h"
#include "mpy.h"
#include "session.h"
#include "xfer.h"

int mpu_cmd_start(struct mpu_cmd *c, struct mpu_session *s, int soft_reset) {
    struct mpu_sink sink = mpu_out_sink(c->out);
    int r = mpu_session_open(s, c->port, &c->link, &sink, &c->eng, c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        return r;
    }
    snprintf(c->port_used, sizeof(c->port_used), "%s", s->port);
    s->forward_stdin = c->forward_stdin;
    mpu_session_catch_sigint();
    r = mpu_engine_enter(&s->eng, soft_reset);
    if (r != MPU_OK) {
        snprintf(c->detail, sizeof(c->detail), "%s%s%s", s->eng.detail,
            r == MPU_ERR_LINK && mpu_link_last_error(s->link)[0] ? ": " : "",
            r == MPU_ERR_LINK ? mpu_link_last_error(s->link) : "");
        mpu_session_close(s);
    }
    return r;
}

int mpu_cmd_finish(struct mpu_cmd *c, struct mpu_session *s, int r) {
    if (r != MPU_OK && r != MPU_ERR_EXCEPTION && !c->detail[0]) {
        snprintf(c->detail, sizeof(c->detail), "%s%s%s", s->eng.detail,
            r == MPU_ERR_LINK && s->eng.detail[0] && mpu_link_last_error(s->link)[0] ? ": " : "",
            r == MPU_ERR_LINK ? mpu_link_last_error(s->link) : "");
    }
    mpu_out_flush(c->out);
    mpu_session_close(s);
    return r;
}

const char *mpu_mode_name(enum mpu_mode m) {
    static const char *names[] = { "none", "raw-paste", "raw", "stream", "mpy-stream", "raw-loader",
        "stream-checked" };
    return names[m];
}

int mpu_cmd_run_code(struct mpu_cmd *c, const uint8_t *code, size_t len) {
    struct mpu_session s;
    int64_t t0 = mpu_now_ms();
    c->total = len;
    int r = mpu_cmd_start(c, &s, c->soft_reset);
    if (r != MPU_OK) {
        return r;
    }
    int stream = 0, checked = 0;
    if (c->use_ext) {
        uint8_t caps[16];
        int n = mpu_engine_caps(&s.eng, caps, sizeof(caps));
        if (n < 0) {
            return mpu_cmd_finish(c, &s, n);
        }
        stream = n > 1 && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_EXEC_STREAM);
        checked = n > 1 && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_EXEC_CHECKED);
    }
    mpu_progress_start(&c->out->progress, len);
    /* Checked blocks when the board has them: a damaged byte is sent again, never run. */
    if (checked) {
        r = mpu_engine_exec_checked(&s.eng, code, len);
    } else if (stream) {
        r = mpu_engine_exec_stream(&s.eng, code, len);
    } else {
        r = mpu_engine_exec(&s.eng, code, len);
    }
    c->mode = mpu_mode_name(s.eng.mode);
    c->bytes_sent = s.eng.sent;
    c->naks = s.eng.resent;
    c->elapsed_ms = mpu_now_ms() - t0;
    return mpu_cmd_finish(c, &s, r);
}

/* Every fact goes through p(); a checksum of them all ends the answer, so a
 * faulty line cannot pass off a damaged .mpy version or path as the board's.
 * _mpu_info(x): x(p) adds facts of its own (run --mpy's preparation). */
static const char INFO_CODE[] =
    "def _mpu_info(x):\n"
    " import sys\n"
    " o=[]\n"
    " def p(*a):o.append(' '.join(str(v) for v in a))\n"
    " i=sys.implementation\n"
    " p('version',sys.version)\n"
    " p('impl',i.name,'.'.join(str(v) for v in i.version[:3]))\n"
    " p('machine',getattr(i,'_machine',''))\n"
    " p('platform',sys.platform)\n"
    " p('mpy',getattr(i,'_mpy',0))\n"
    " m=sys.maxsize;b=0\n"
    " while m:\n"
    "  m>>=1;b+=1\n"
    " p('intbits',b)\n"
    " try:\n"
    "  import gc;gc.collect();p('heap',gc.mem_free(),gc.mem_alloc())\n"
    " except Exception:\n"
    "  p('heap',-1,-1)\n"
    " try:\n"
    "  import os;s=os.statvfs('/');p('fs',s[0]*s[2],s[0]*s[3])\n"
    " except Exception:\n"
    "  p('fs',-1,-1)\n"
    " p('stdinbuf',int(hasattr(sys.stdin,'buffer')))\n"
    " x and x(p)\n"
    " s='\\n'.join(o);c=0\n"
    " for v in s.encode():c=(c*31+v)&0xffffff\n"
    " print(s);print('check',c)\n";

/* The same, only what run --mpy needs of it: a shorter paste, less to damage. */
static const char MPY_INFO_CODE[] =
    "def _mpu_info(x):\n"
    " import sys\n"
    " o=[]\n"
    " def p(*a):o.append(' '.join(str(v) for v in a))\n"
    " p('mpy',getattr(sys.implementation,'_mpy',0))\n"
    " m=sys.maxsize;b=0\n"
    " while m:\n"
    "  m>>=1;b+=1\n"
    " p('intbits',b)\n"
    " x(p)\n"
    " s='\\n'.join(o);c=0\n"
    " for v in s.encode():c=(c*31+v)&0xffffff\n"
    " print(s);print('check',c)\n";

/* Attempts at the facts when their program or answer arrives damaged. */
#define FACTS_TRIES 3

/* The checksum of INFO_CODE's answer, '\r' left out (a board's stdout may add it). */
static int info_checked(const char *text) {
    const char *end = strstr(text, "\ncheck ");
    if (!end || strchr(end + 1, '\n') != strrchr(text, '\n')) {
        return 0;
    }
    unsigned long c = 0;
    for (const char *p = text; p < end; p++) {
        if (*p != '\r') {
            c = (c * 31 + (unsigned char)*p) & 0xffffff;
        }
    }
    char *e;
    unsigned long want = strtoul(end + 7, &e, 10);
    return e != end + 7 && (*e == 0 || *e == '\r' || *e == '\n') && want == c;
}

static void parse_info(const char *text, struct mpu_board_info *in) {
    const char *p = text;
    while (p && *p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        char line[400];
        snprintf(line, sizeof(line), "%.*s", (int)n, p);
        char *sp = strchr(line, ' ');
        const char *v = sp ? sp + 1 : "";
        if (sp) {
            *sp = 0;
        }
        if (!strcmp(line, "version")) {
            snprintf(in->version, sizeof(in->version), "%s", v);
        } else if (!strcmp(line, "impl")) {
            snprintf(in->impl, sizeof(in->impl), "%s", v);
        } else if (!strcmp(line, "machine")) {
            snprintf(in->machine, sizeof(in->machine), "%s", v);
        } else if (!strcmp(line, "platform")) {
            snprintf(in->platform, sizeof(in->platform), "%s", v);
        } else if (!strcmp(line, "mpy")) {
            in->mpy = atoi(v);
        } else if (!strcmp(line, "intbits")) {
            in->small_int_bits = atoi(v);
        } else if (!strcmp(line, "heap")) {
            sscanf(v, "%ld %ld", &in->heap_free, &in->heap_used);
        } else if (!strcmp(line, "fs")) {
            sscanf(v, "%lld %lld", &in->fs_size, &in->fs_free);
        } else if (!strcmp(line, "stdinbuf")) {
            in->stdin_buffer = atoi(v);
        }
        p = nl ? nl + 1 : NULL;
    }
}

/* The longest a program of ours that takes the board no time may run: a byte of
 * its end lost on the line must make a failure, not a wait without end. */
#define QUICK_MS 10000

/* Limit the engine's run time to QUICK_MS: @return the limit to restore. */
static int quick(struct mpu_engine *e) {
    int keep = e->o.run_ms;
    if (keep < 0 || keep > QUICK_MS) {
        e->o.run_ms = QUICK_MS;
    }
    return keep;
}

/* Facts about a board in the raw REPL; program output is captured and stays in
 * c->out->cap. extra: Python source defining _mpu_p(p), run in the same exec
 * after the few facts run --mpy needs (MPY_INFO_CODE); else INFO_CODE. */
static int board_facts(struct mpu_cmd *c, struct mpu_engine *e, struct mpu_board_info *info, const char *extra) {
    memset(info, 0, sizeof(*info));
    info->fs_size = info->fs_free = -1;
    int n = mpu_engine_caps(e, info->caps, sizeof(info->caps));
    if (n < 0) {
        return n;
    }
    info->caps_known = n > 0;
    size_t len = sizeof(INFO_CODE) + (extra ? strlen(extra) : 0) + 64;
    char *code = malloc(len);
    if (!code) {
        return MPU_ERR_MEM;
    }
    snprintf(code, len, "%s%s_mpu_info(%s)\ndel _mpu_info%s\n", extra ? MPY_INFO_CODE : INFO_CODE,
        extra ? extra : "", extra ? "_mpu_p" : "0", extra ? ",_mpu_p" : "");
    int was = c->out->capture;
    int r = MPU_OK;
    /* A program damaged into a SyntaxError ran nothing, a damaged answer changed
     * nothing: ask again while the board is back at its prompt. */
    for (int i = 0; i < FACTS_TRIES; i++) {
        c->out->capture = 1;
        c->out->cap_len = 0;
        if (c->out->cap) {
            c->out->cap[0] = 0;
        }
        int keep = quick(e);
        r = mpu_engine_exec(e, (const uint8_t *)code, strlen(code));
        e->o.run_ms = keep;
        c->out->capture = was;
        if (r == MPU_ERR_EXCEPTION) {
            snprintf(c->detail, sizeof(c->detail), "the board failed to describe itself");
            r = MPU_ERR_PROTO;
        } else if (r == MPU_OK && !info_checked(c->out->cap ? c->out->cap : "")) {
            /* Not the board's facts (the .mpy version among them): a transfer error, not mpy-cross's. */
            snprintf(c->detail, sizeof(c->detail), "the board's description of itself (.mpy version, "
                "sys.implementation) arrived damaged or cut short: the line loses or changes bytes");
            r = MPU_ERR_PROTO;
        } else {
            break;
        }
        if (!e->in_raw) {
            break;
        }
    }
    free(code);
    if (r == MPU_OK) {
        c->detail[0] = 0;
        parse_info(c->out->cap, info);
    }
    return r;
}

int mpu_board_facts(struct mpu_cmd *c, struct mpu_engine *e, struct mpu_board_info *info) {
    return board_facts(c, e, info, NULL);
}

int mpu_cmd_info(struct mpu_cmd *c, struct mpu_board_info *info) {
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    r = mpu_board_facts(c, &s.eng, info);
    return mpu_cmd_finish(c, &s, r);
}

int mpu_cmd_reset(struct mpu_cmd *c, int hard) {
    struct mpu_session s;
    int r = mpu_cmd_start(c, &s, 0);
    if (r != MPU_OK) {
        return r;
    }
    if (!hard) {
        r = mpu_engine_soft_reset(&s.eng);
        return mpu_cmd_finish(c, &s, r);
    }
    static const char RESET[] = "import machine\nmachine.reset()\n";
    s.eng.no_follow = 1;
    r = mpu_engine_exec(&s.eng, (const uint8_t *)RESET, sizeof(RESET) - 1);
    s.eng.no_follow = 0;
    s.eng.in_raw = 0; /* the board is gone or rebooting: don't talk to it */
    if (r == MPU_OK) {
        /* Wait (2 s at most) for the board to go: its link closes, or it prints a banner. */
        uint8_t buf[256];
        int64_t end = mpu_now_ms() + 2000;
        int quiet = (int)(end - mpu_now_ms());
        while (quiet > 0) {
            int n = mpu_link_read(s.link, buf, sizeof(buf), quiet);
            if (n <= 0) {
                break;
            }
            /* It talks (its boot banner): done once it has been quiet for 300 ms. */
            quiet = (int)(end - mpu_now_ms()) < 300 ? (int)(end - mpu_now_ms()) : 300;
        }
    }
    return mpu_cmd_finish(c, &s, r);
}

static struct termios saved_tty;
static int tty_raw;

static void restore_tty(void) {
    if (tty_raw) {
        tcsetattr(0, TCSAFLUSH, &saved_tty);
        tty_raw = 0;
    }
}

int mpu_cmd_repl(struct mpu_cmd *c, int quiet) {
    struct mpu_session s;
    struct mpu_sink sink = mpu_out_sink(c->out);
    int r = mpu_session_open(&s, c->port, &c->link, &sink, &c->eng, c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        return r;
    }
    snprintf(c->port_used, sizeof(c->port_used), "%s", s.port);
    if (isatty(0) && tcgetattr(0, &saved_tty) == 0) {
        struct termios t = saved_tty;
        cfmakeraw(&t);
        tcsetattr(0, TCSAFLUSH, &t);
        tty_raw = 1;
        atexit(restore_tty);
    }
    if (!quiet) {
        fprintf(stderr, "Connected to %s; Ctrl-] leaves.%s", s.port, tty_raw ? "\r\n" : "\n");
    }
    /* Ctrl-B: out of a raw REPL left behind, and the banner and a prompt either way. */
    r = mpu_link_write(s.link, (const uint8_t *)"\x02", 1);
    if (r < 0) {
        snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
        restore_tty();
        mpu_session_close(&s);
        return r;
    }
    int stdin_open = 1;
    int64_t linger_end = -1;
    r = MPU_OK;
    for (;;) {
        struct pollfd p[2] = { { mpu_link_fd(s.link), POLLIN, 0 }, { 0, POLLIN, 0 } };
        int timeout = -1;
        if (!stdin_open) {
            /* Input ended (a pipe): show what the board still says for a moment. */
            timeout = (int)(linger_end - mpu_now_ms());
            if (timeout <= 0) {
                break;
            }
        }
        int pr = poll(p, stdin_open ? 2 : 1, timeout);
        if (pr < 0 && errno != EINTR) {
            r = MPU_ERR_LINK;
            break;
        }
        if (pr <= 0) {
            continue;
        }
        if (p[0].revents) {
            uint8_t buf[4096];
            int n = mpu_link_read(s.link, buf, sizeof(buf), 0);
            if (n < 0) {
                snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
                r = n;
                break;
            }
            if (n > 0) {
                fwrite(buf, 1, (size_t)n, stdout);
                fflush(stdout);
                if (!stdin_open) {
                    linger_end = mpu_now_ms() + 500;
                }
            }
        }
        if (stdin_open && (p[1].revents & (POLLIN | POLLHUP))) {
            uint8_t buf[1024];
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = 0;
                linger_end = mpu_now_ms() + 500;
                continue;
            }
            uint8_t *esc = memchr(buf, 0x1d, (size_t)n); /* Ctrl-] */
            size_t k = esc ? (size_t)(esc - buf) : (size_t)n;
            if (k && (r = mpu_link_write(s.link, buf, k)) < 0) {
                snprintf(c->detail, sizeof(c->detail), "%s", mpu_link_last_error(s.link));
                break;
            }
            if (esc) {
                break;
            }
        }
    }
    restore_tty();
    if (!quiet) {
        fprintf(stderr, "\nLeft the REPL.\n");
    }
    s.eng.in_raw = 0;
    mpu_session_close(&s);
    return r;
}

/* Stock firmware: the .mpy goes to a file of its own name in the board's current
 * directory; it is imported, and removed whatever happens (finally). The file
 * travels by the B.5 put (SHA-256 verified, renamed into place whole) when the
 * board has hashlib.sha256, which the stock receiver needs. A board without it
 * gets the bytes unchecked, as escaped bytes literals in raw-paste commands,
 * only the size checked (mode "mpy-file-repr"). Files _mpu_run* that a run cut
 * short left behind go first, in the exec that reads the facts. */
#define MPY_STEM "_mpu_run"
#define REPR_CHUNK 1024

/* _mpu_p(p), run with the board's facts: stale files removed (any name of the
 * stem: a name damaged on the line too); can a file be made here (%s: the new
 * module, its name written once, so that damage cannot make one file and
 * remove another); the current directory; hashlib.sha256. */
static const char MPY_PREP[] =
    "def _mpu_p(p):\n"
    " import os\n"
    " try:\n"
    "  d=os.getcwd()\n"
    " except Exception:\n"
    "  d='/'\n"
    " try:\n"
    "  l=os.listdir()\n"
    " except Exception:\n"
    "  l=[]\n"
    " for e in l:\n"
    "  if e.startswith('" MPY_STEM "'):\n"
    "   try:\n"
    "    os.remove(e)\n"
    "   except OSError:\n"
    "    pass\n"
    " n='%s.mpy'\n"
    " try:\n"
    "  open(n,'wb').close();os.remove(n)\n"
    " except OSError as e:\n"
    "  p('nofs',e);return\n"
    " try:\n"
    "  from hashlib import sha256;h=1\n"
    " except ImportError:\n"
    "  h=0\n"
    " p('cwd',d);p('sha256',h)\n";

/* The value of fact key in board_facts' answer, '\r' cut: 0, or -1 when absent. */
static int fact(const char *text, const char *key, char *out, size_t len) {
    size_t k = strlen(key);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, key, k) && p[k] == ' ') {
            size_t n = strcspn(p + k + 1, "\r\n");
            if (n >= len) {
                return -1;
            }
            memcpy(out, p + k + 1, n);
            out[n] = 0;
            return 0;
        }
    }
    return -1;
}

/* A Python str literal of s, every byte escaped: board text never becomes code. */
static int pystr(char *out, size_t len, const char *s) {
    size_t o = (size_t)snprintf(out, len, "b'");
    for (; *s && o + 8 < len; s++) {
        o += (size_t)snprintf(out + o, len - o, "\\x%02x", (unsigned char)*s);
    }
    if (*s || o + 12 > len) {
        return -1;
    }
    snprintf(out + o, len - o, "'.decode()");
    return 0;
}

/* The .mpy by B.5 put, through a local temporary file. */
static int mpy_put(struct mpu_cmd *c, struct mpu_session *s, const char *target, const uint8_t *mpy, size_t len) {
    const char *tmpdir = getenv("TMPDIR");
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s/mpupload-XXXXXX.mpy", tmpdir && *tmpdir ? tmpdir : P_tmpdir);
    int fd = mkstemps(tmp, 4);
    if (fd < 0) {
        snprintf(c->detail, sizeof(c->detail), "temporary file %.300s: %s (set TMPDIR)", tmp, strerror(errno));
        return MPU_ERR_ARG;
    }
    size_t o = 0;
    while (o < len) {
        ssize_t n = write(fd, mpy + o, len - o);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        o += (size_t)n;
    }
    if (close(fd) != 0 || o != len) {
        snprintf(c->detail, sizeof(c->detail), "temporary file %.300s: cannot write it (set TMPDIR)", tmp);
        unlink(tmp);
        return MPU_ERR_ARG;
    }
    int r = mpu_xfer_put_file(c, s, tmp, target, MPU_XFER_NO_RESUME);
    unlink(tmp);
    if (r == MPU_OK || s->eng.in_raw) {
        int keep = quick(&s->eng);
        int e = mpu_xfer_end(c, s);
        s->eng.o.run_ms = keep;
        r = r == MPU_OK ? e : r;
    }
    return r;
}

/* The .mpy as escaped bytes literals, one raw-paste command each; its size checked. */
static int mpy_repr(struct mpu_cmd *c, struct mpu_session *s, const char *path, const uint8_t *mpy, size_t len) {
    char chunk[REPR_CHUNK * 4 + 4200];
    char *out = NULL;
    int keep = quick(&s->eng);
    snprintf(chunk, sizeof(chunk), "_mpu_w=open(%s,'wb').write\n", path);
    int r = mpu_xfer_run_capture(c, s, chunk, NULL, NULL);
    for (size_t off = 0; r == MPU_OK && off < len; off += REPR_CHUNK) {
        size_t o = (size_t)snprintf(chunk, sizeof(chunk), "_mpu_w(b'");
        for (size_t i = off; i < len && i < off + REPR_CHUNK; i++) {
            o += (size_t)snprintf(chunk + o, sizeof(chunk) - o, "\\x%02x", mpy[i]);
        }
        snprintf(chunk + o, sizeof(chunk) - o, "')\n");
        r = mpu_xfer_run_capture(c, s, chunk, NULL, NULL);
        c->bytes_sent += o + 3;
        mpu_progress_update(&c->out->progress, off + REPR_CHUNK < len ? off + REPR_CHUNK : len, len);
    }
    if (r == MPU_OK) {
        /* The file object goes with the function bound to it, and so closes. */
        snprintf(chunk, sizeof(chunk), "del _mpu_w\nimport gc\ngc.collect()\nprint(__import__('os').stat(%s)[6])\n",
            path);
        r = mpu_xfer_run_capture(c, s, chunk, &out, NULL);
    }
    s->eng.o.run_ms = keep;
    if (r == MPU_ERR_EXCEPTION) {
        char keep[sizeof(c->detail)];
        snprintf(keep, sizeof(keep), "%s", c->detail);
        snprintf(c->detail, sizeof(c->detail), "the .mpy's transfer failed on the board: %.600s", keep);
        r = MPU_ERR_PROTO;
    }
    if (r == MPU_OK && strtoul(out, NULL, 10) != len) {
        snprintf(c->detail, sizeof(c->detail), "the .mpy arrived with %.20s of %zu bytes", out, len);
        r = MPU_ERR_PROTO;
    }
    free(out);
    return r;
}

/* _mpu_r(n,m), after the run: file n removed, module m forgotten, and the
 * answer checked as the facts are (a removal damaged on the line could leave
 * the file, or name another one). */
static const char MPY_REMOVE[] =
    "def _mpu_r(n,m):\n"
    " import os,sys\n"
    " sys.modules.pop(m,None)\n"
    " try:\n"
    "  os.remove(n)\n"
    " except OSError:\n"
    "  pass\n"
    " try:\n"
    "  os.stat(n);s='left'\n"
    " except OSError:\n"
    "  s='gone'\n"
    " if m in sys.modules:s='left'\n"
    " s=s+' '+n;c=0\n"
    " for v in s.encode():c=(c*31+v)&0xffffff\n"
    " print(s);print('check',c)\n"
    "_mpu_r(%s,%s)\n"
    "del _mpu_r\n";

/* Attempts at the removal before run --mpy gives up (exit 4). */
#define REMOVE_TRIES 3

/* The .mpy file target (path: its Python literal) and module mod gone from the
 * board, and seen gone: MPU_OK, else MPU_ERR_PROTO naming the file. */
static int mpy_remove(struct mpu_cmd *c, struct mpu_session *s, const char *target, const char *path,
    const char *mod) {
    char modlit[sizeof(MPY_STEM) * 4 + 64];
    if (pystr(modlit, sizeof(modlit), mod)) {
        return MPU_ERR_ARG;
    }
    size_t len = sizeof(MPY_REMOVE) + strlen(path) + strlen(modlit);
    char *code = malloc(len), *want = malloc(strlen(target) + 8);
    if (!code || !want) {
        free(code);
        free(want);
        return MPU_ERR_MEM;
    }
    snprintf(code, len, MPY_REMOVE, path, modlit);
    sprintf(want, "gone %s\n", target);
    int r = MPU_ERR_PROTO;
    for (int i = 0; i < REMOVE_TRIES; i++) {
        if (!s->eng.in_raw && (r = mpu_engine_enter(&s->eng, 0)) != MPU_OK) {
            if (r == MPU_ERR_LINK || r == MPU_ERR_INTR) {
                break;
            }
            continue;
        }
        char *out = NULL;
        int keep = quick(&s->eng);
        r = mpu_xfer_run_capture(c, s, code, &out, NULL);
        s->eng.o.run_ms = keep;
        int ok = r == MPU_OK && info_checked(out) && !strncmp(out, want, strlen(want));
        free(out);
        if (ok) {
            break;
        }
        if (r == MPU_ERR_LINK || r == MPU_ERR_INTR || r == MPU_ERR_MEM) {
            break;
        }
        r = MPU_ERR_PROTO;
        c->naks++;
    }
    if (r != MPU_OK && r != MPU_ERR_INTR) {
        snprintf(c->detail, sizeof(c->detail), "the .mpy file %.400s may be left on the board: its removal was "
            "not confirmed %d times (the next run --mpy removes it)", target, REMOVE_TRIES);
        r = r == MPU_ERR_LINK ? r : MPU_ERR_PROTO;
    }
    free(code);
    free(want);
    return r;
}

static int mpy_via_file(struct mpu_cmd *c, struct mpu_session *s, const char *facts, const char *mod,
    const uint8_t *mpy, size_t len) {
    char cwd[400], sha[8], target[600], path[600 * 4 + 32];
    if (fact(facts, "nofs", cwd, sizeof(cwd)) == 0) {
        snprintf(c->detail, sizeof(c->detail),
            "the board cannot write a file for the .mpy (%s) and has no streamed .mpy extension", cwd);
        return MPU_ERR_SUPP;
    }
    if (fact(facts, "cwd", cwd, sizeof(cwd)) || fact(facts, "sha256", sha, sizeof(sha))) {
        snprintf(c->detail, sizeof(c->detail), "the board did not say where to write the .mpy");
        return MPU_ERR_PROTO;
    }
    snprintf(path, sizeof(path), "%s/%s.mpy", cwd, mod);
    int r = mpu_xfer_path(path, 0, target, sizeof(target), c->detail, sizeof(c->detail));
    if (r != MPU_OK || pystr(path, sizeof(path), target)) {
        snprintf(c->detail, sizeof(c->detail), "the board's current directory is no place for the .mpy: %.300s", cwd);
        return MPU_ERR_SUPP;
    }
    c->bytes_sent = 0;
    if (!strcmp(sha, "1")) {
        r = mpy_put(c, s, target, mpy, len);
        c->mode = "mpy-file";
    } else {
        r = mpy_repr(c, s, path, mpy, len);
        c->mode = "mpy-file-repr";
    }
    if (r != MPU_OK) {
        return r;
    }
    mpu_out_flush(c->out);
    /* By its full path: the program may change directory. */
    char code[sizeof(path) + 256];
    snprintf(code, sizeof(code),
        "try:\n"
        " __import__('%s')\n"
        "finally:\n"
        " try:\n"
        "  __import__('os').remove(%s)\n"
        " except OSError:\n"
        "  pass\n"
        " __import__('sys').modules.pop('%s',None)\n",
        mod, path, mod);
    r = mpu_engine_exec(&s->eng, (const uint8_t *)code, strlen(code));
    /* The removal in the finally may have been damaged on the line: again, and
     * checked, once the board is back at its prompt (not after a timeout or
     * an interrupt: the program may still run). */
    if (r == MPU_OK || r == MPU_ERR_EXCEPTION || r == MPU_ERR_PROTO) {
        char keep[sizeof(c->detail)];
        snprintf(keep, sizeof(keep), "%s", c->detail);
        int d = mpy_remove(c, s, target, path, mod);
        if (d == MPU_OK || r == MPU_ERR_PROTO) {
            snprintf(c->detail, sizeof(c->detail), "%s", keep);
        } else {
            r = d;
        }
    }
    return r;
}

int mpu_cmd_run_mpy(struct mpu_cmd *c, const char *path) {
    struct mpu_session s;
    int64_t t0 = mpu_now_ms();
    int r = mpu_cmd_start(c, &s, c->soft_reset);
    if (r != MPU_OK) {
        return r;
    }
    uint8_t caps[16];
    int n = mpu_engine_caps(&s.eng, caps, sizeof(caps));
    if (n < 0) {
        return mpu_cmd_finish(c, &s, n);
    }
    int have_mpy_ext = c->use_ext && n > MPU_PROTO_INFO_OFF_FLAGS
        && (caps[MPU_PROTO_INFO_OFF_FLAGS] & MPU_PROTO_CAP_MPY) != 0;
    /* A name of this run's own: nothing stale is imported in its place. */
    char mod[64], prep[sizeof(MPY_PREP) + 160];
    snprintf(mod, sizeof(mod), MPY_STEM "_%04lx%04lx", (unsigned long)getpid() & 0xffff,
        (unsigned long)mpu_now_ms() & 0xffff);
    snprintf(prep, sizeof(prep), MPY_PREP, mod);
    struct mpu_board_info in;
    r = board_facts(c, &s.eng, &in, have_mpy_ext ? NULL : prep);
    if (r != MPU_OK) {
        return mpu_cmd_finish(c, &s, r);
    }
    char *facts = strdup(c->out->cap ? c->out->cap : "");
    if (!facts) {
        return mpu_cmd_finish(c, &s, MPU_ERR_MEM);
    }
    struct mpu_mpy_target t;
    if (in.caps_known && c->use_ext) {
        t.version = in.caps[MPU_PROTO_INFO_OFF_MPY_VERSION];
        t.features = in.caps[MPU_PROTO_INFO_OFF_MPY_FEATURES];
        t.small_int_bits = in.caps[MPU_PROTO_INFO_OFF_MPY_SMALL_INT_BITS];
        /* The record carries no checksum (a flipped bit makes R\x00 an R\x01); the
         * checked facts say the same of a board that really has it. */
        if (t.version != (in.mpy & 0xff) || t.features != ((in.mpy >> 8) & 0xff)) {
            snprintf(c->detail, sizeof(c->detail), "the board's capability record says .mpy v%d (features %d) "
                "but sys.implementation._mpy says v%d (features %d): damaged on the line", t.version, t.features,
                in.mpy & 0xff, (in.mpy >> 8) & 0xff);
            free(facts);
            return mpu_cmd_finish(c, &s, MPU_ERR_PROTO);
        }
    } else {
        t.version = in.mpy & 0xff;
        t.features = (in.mpy >> 8) & 0xff;
        t.small_int_bits = in.small_int_bits;
    }
    /* Smaller than the board's is safe; mpy-cross defaults to 31. */
    if (t.small_int_bits <= 0 || t.small_int_bits > 31) {
        t.small_int_bits = 31;
    }
    char cross_buf[4200];
    const char *cross = mpu_mpy_cross_path(c->mpy_cross, cross_buf, sizeof(cross_buf));
    uint8_t *mpy = NULL;
    size_t len = 0;
    r = mpu_mpy_compile(cross, &t, path, c->source_name ? c->source_name : path, &mpy, &len,
        c->detail, sizeof(c->detail));
    if (r != MPU_OK) {
        free(facts);
        return mpu_cmd_finish(c, &s, r);
    }
    c->total = len;
    mpu_progress_start(&c->out->progress, len);
    if (have_mpy_ext) {
        r = mpu_engine_exec_mpy(&s.eng, mpy, len);
        c->mode = "mpy-stream";
        c->bytes_sent = s.eng.sent;
    } else {
        r = mpy_via_file(c, &s, facts, mod, mpy, len);
    }
    free(mpy);
    free(facts);
    c->elapsed_ms = mpu_now_ms() - t0;
    return mpu_cmd_finish(c, &s, r);
}
