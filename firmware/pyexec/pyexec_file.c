/*
 * This file is part of mpupload's streaming pyexec for MicroPython.
 *
 * The MIT License (MIT)
 */

// B.5: file transfer served natively.  Blocks of B.2 go straight to and from
// the VFS; the CRC is pyexec_crc32, the SHA-256 that of the hashlib module.
// Memory: one block buffer, a file object and a hash object, whatever the
// size of the file.
// Included by pyexec_ext.c (one translation unit); not compiled on its own.

#include "py/objarray.h"
#include "py/objmodule.h"
#include "py/objtuple.h"
#include "extmod/vfs.h"

// Largest block payload of a file transfer.  The device reads a block while
// it arrives, so the RX buffer need only absorb the time to write one.
#ifndef MICROPY_PYEXEC_FILE_BLOCK
#define MICROPY_PYEXEC_FILE_BLOCK (MPU_PROTO_DEFAULT_FILE_BLOCK)
#endif

// Blocks of a file transfer in flight (B.5's K).  The device reads a block
// as it arrives, so K costs no device memory (unlike B.1's K, whose blocks
// must fit the RX buffer); more blocks queued on the host side keep the line
// busy while either end is late to answer.
#ifndef MICROPY_PYEXEC_FILE_BLOCKS_IN_FLIGHT
#define MICROPY_PYEXEC_FILE_BLOCKS_IN_FLIGHT (MPU_PROTO_DEFAULT_FILE_BLOCKS_IN_FLIGHT)
#endif

// Bytes written between two flushes of TARGET.part during a put, so that what
// a board reset or a cut line leaves behind can be resumed (0: never).
#ifndef MICROPY_PYEXEC_FILE_SYNC
#define MICROPY_PYEXEC_FILE_SYNC (32768)
#endif

#define PYEXEC_FILE_BUF (MICROPY_PYEXEC_FILE_BLOCK + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN)
#define PYEXEC_FILE_SHA_LEN (32)

typedef struct _pyexec_file_t {
    pyexec_blk_t blk;
    byte *buf; // PYEXEC_FILE_BUF bytes
    mp_obj_t file; // open file, or MP_OBJ_NULL
    mp_obj_t target;
    mp_obj_t part; // target + ".part"
    mp_obj_t view; // bytearray over buf, handed to update()
    mp_obj_t hash; // sha256 object
    mp_obj_t update[3]; // hash.update, bound, + argument
    bool keep_part; // a failure leaves TARGET.part in place
    bool sending; // get: the blocks have started
} pyexec_file_t;

static void pyexec_put_u32(byte *p, uint32_t v) {
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static void pyexec_file_hash_new(pyexec_file_t *f) {
    mp_obj_t mod = mp_module_get_builtin(MP_QSTR_hashlib, true);
    if (mod == MP_OBJ_NULL) {
        mod = mp_module_get_builtin(MP_QSTR_hashlib, false);
    }
    f->hash = mp_call_function_0(mp_load_attr(mod, MP_QSTR_sha256));
    mp_load_method(f->hash, MP_QSTR_update, f->update);
}

// Hashes n bytes at p (inside f->buf) without allocating.
static void pyexec_file_hash(pyexec_file_t *f, byte *p, size_t n) {
    mp_obj_array_t *v = MP_OBJ_TO_PTR(f->view);
    v->items = p;
    v->len = n;
    f->update[2] = f->view;
    mp_call_method_n_kw(1, 0, f->update);
}

static void pyexec_file_digest(mp_obj_t hash, byte *out) {
    mp_obj_t dest[2];
    mp_load_method(hash, MP_QSTR_digest, dest);
    mp_buffer_info_t bi;
    mp_get_buffer_raise(mp_call_method_n_kw(0, 0, dest), &bi, MP_BUFFER_READ);
    memcpy(out, bi.buf, PYEXEC_FILE_SHA_LEN);
}

static mp_obj_t pyexec_file_open(mp_obj_t path, const char *mode) {
    mp_obj_t args[2] = { path, mp_obj_new_str(mode, strlen(mode)) };
    mp_map_t kw;
    mp_map_init(&kw, 0);
    return mp_vfs_open(2, args, &kw);
}

static size_t pyexec_file_read(pyexec_file_t *f, byte *p, size_t n) {
    int err;
    mp_uint_t got = mp_stream_rw(f->file, p, n, &err, MP_STREAM_RW_READ);
    if (got == MP_STREAM_ERROR) {
        mp_raise_OSError(err);
    }
    return got;
}

// st_mode of path, or -1 when it does not exist.
static mp_int_t pyexec_file_mode(mp_obj_t path, mp_uint_t *size) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_obj_t st = mp_vfs_stat(path);
        size_t n;
        mp_obj_t *items;
        mp_obj_tuple_get(st, &n, &items);
        mp_int_t mode = mp_obj_get_int(items[0]);
        if (size != NULL) {
            *size = mp_obj_get_int_truncated(items[6]);
        }
        nlr_pop();
        return mode;
    }
    return -1;
}

// Closes f->file, ignoring errors (a failure is being reported already).
static void pyexec_file_close_quiet(pyexec_file_t *f) {
    if (f->file != MP_OBJ_NULL) {
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            mp_stream_close(f->file);
            nlr_pop();
        }
        f->file = MP_OBJ_NULL;
    }
}

static void pyexec_file_reply(byte op, uint32_t n, const byte *sha) {
    byte r[MPU_PROTO_FILE_PUT_REPLY_LEN];
    r[0] = op;
    pyexec_put_u32(r + 1, n);
    memcpy(r + 5, sha, PYEXEC_FILE_SHA_LEN);
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));
}

// Put: the target's parent directory must exist, or is made (flag bit 1).
static void pyexec_file_parents(const char *path, size_t len, bool make) {
    for (size_t i = 1; i < len; i++) {
        if (path[i] != '/') {
            continue;
        }
        mp_obj_t dir = mp_obj_new_str(path, i);
        mp_int_t mode = pyexec_file_mode(dir, NULL);
        if (mode < 0 && make) {
            mp_vfs_mkdir(dir);
        } else if (mode < 0) {
            mp_raise_OSError(MP_ENOENT);
        } else if (!(mode & MP_S_IFDIR)) {
            mp_raise_OSError(MP_ENOTDIR);
        }
    }
}

// Put: from the reply record to the ACK of the E block.
static void pyexec_file_put(pyexec_file_t *f, uint32_t size, byte flags) {
    byte *buf = f->buf;
    // Resume from TARGET.part: hash its first O bytes twice over, once to
    // tell the host (H), once to carry on with if the host agrees.
    mp_uint_t o = 0;
    byte sha[PYEXEC_FILE_SHA_LEN];
    memset(sha, 0, sizeof(sha));
    pyexec_file_hash_new(f);
    mp_int_t mode = pyexec_file_mode(f->part, &o);
    if ((flags & MPU_PROTO_FILE_F_RESUME) && mode >= 0 && !(mode & MP_S_IFDIR) && o > 0 && o <= size) {
        mp_obj_t carry = f->hash;
        mp_obj_t carry_update[3] = { f->update[0], f->update[1], f->view };
        pyexec_file_hash_new(f);
        f->file = pyexec_file_open(f->part, "rb");
        mp_uint_t done = 0;
        while (done < o) {
            size_t n = pyexec_file_read(f, buf, MIN(o - done, PYEXEC_FILE_BUF));
            if (n == 0) {
                break;
            }
            pyexec_file_hash(f, buf, n);
            mp_call_method_n_kw(1, 0, carry_update);
            done += n;
        }
        mp_stream_close(f->file);
        f->file = MP_OBJ_NULL;
        o = done;
        pyexec_file_digest(f->hash, sha);
        f->hash = carry;
        f->update[0] = carry_update[0];
        f->update[1] = carry_update[1];
    } else {
        o = 0;
    }
    pyexec_file_reply(MPU_PROTO_FILE_PUT, o, sha);

    // Block 1: the offset the host starts from.
    pyexec_blk_next(&f->blk);
    if (f->blk.end || f->blk.len != 4) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad request"));
    }
    uint32_t s = pyexec_get_u32(buf);
    if (s != 0 && s != o) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad start offset"));
    }
    if (s == 0 && o != 0) {
        pyexec_file_hash_new(f);
    }
    f->file = pyexec_file_open(f->part, s ? "ab" : "wb");

    // Data blocks; each is ACKed before it is written.
    uint32_t got = s;
    for (;;) {
        pyexec_blk_next(&f->blk);
        if (f->blk.end) {
            break;
        }
        size_t n = f->blk.len;
        if (n > size - got) {
            mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("size mismatch"));
        }
        int err;
        if (mp_stream_rw(f->file, buf, n, &err, MP_STREAM_RW_WRITE) != n) {
            mp_raise_OSError(err);
        }
        pyexec_file_hash(f, buf, n);
        #if MICROPY_PYEXEC_FILE_SYNC
        if ((got + n) / MICROPY_PYEXEC_FILE_SYNC != got / MICROPY_PYEXEC_FILE_SYNC
            && mp_get_stream(f->file)->ioctl(f->file, MP_STREAM_FLUSH, 0, &err) == MP_STREAM_ERROR) {
            mp_raise_OSError(err);
        }
        #endif
        got += n;
    }

    // E block: the SHA-256 of the whole file.
    if (f->blk.end_n != PYEXEC_FILE_SHA_LEN) {
        mp_raise_ValueError(MP_ERROR_TEXT("bad request"));
    }
    mp_stream_close(f->file);
    f->file = MP_OBJ_NULL;
    if (got != size) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("size mismatch"));
    }
    pyexec_file_digest(f->hash, sha);
    if (memcmp(sha, buf, PYEXEC_FILE_SHA_LEN) != 0) {
        mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("SHA-256 mismatch"));
    }
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_vfs_rename(f->part, f->target);
        nlr_pop();
    } else {
        // A VFS that does not rename over a file (FAT): remove it first.
        // From here on TARGET.part is the only copy: keep it on failure.
        if (pyexec_file_mode(f->target, NULL) < 0) {
            nlr_jump(nlr.ret_val);
        }
        f->keep_part = true;
        mp_vfs_remove(f->target);
        mp_vfs_rename(f->part, f->target);
    }
    byte ack[2] = { MPU_PROTO_BLK_ACK, (byte)(f->blk.seq - 1) };
    mp_hal_stdout_tx_strn((const char *)ack, 2);
}

// Get: from the reply record to the host's ACK of the E block.
static void pyexec_file_get(pyexec_file_t *f, uint32_t offset) {
    byte *buf = f->buf;
    f->file = pyexec_file_open(f->target, "rb");
    pyexec_file_hash_new(f);
    uint32_t size = 0;
    for (;;) {
        size_t n = pyexec_file_read(f, buf, PYEXEC_FILE_BUF);
        if (n == 0) {
            break;
        }
        pyexec_file_hash(f, buf, n);
        size += n;
    }
    if (offset > size) {
        mp_raise_OSError(MP_EINVAL);
    }
    byte sha[PYEXEC_FILE_SHA_LEN];
    pyexec_file_digest(f->hash, sha);
    pyexec_file_reply(MPU_PROTO_FILE_GET, size, sha);

    // Block i (0-based) is seq i + 1: D blocks, then the E block.
    const size_t b = MICROPY_PYEXEC_FILE_BLOCK;
    uint32_t count = (size - offset + b - 1) / b + 1;
    uint32_t base = 0; // oldest unacknowledged
    uint32_t next = 0; // next to send
    uint8_t naks = 0;
    bool seek = true;
    f->sending = true;
    while (base < count) {
        while (next < count && next - base < MICROPY_PYEXEC_FILE_BLOCKS_IN_FLIGHT) {
            uint32_t at = offset + next * b;
            size_t n = 0;
            if (next + 1 < count) {
                int err;
                if (seek && mp_stream_seek(f->file, at, MP_SEEK_SET, &err) == (mp_off_t)-1) {
                    mp_raise_OSError(err);
                }
                seek = false;
                n = pyexec_file_read(f, buf + MPU_PROTO_BLK_HEADER_LEN, MIN(b, size - at));
            }
            buf[0] = MPU_PROTO_BLK_SYNC;
            buf[1] = next + 1 < count ? MPU_PROTO_BLK_DATA : MPU_PROTO_BLK_END;
            buf[2] = next + 1;
            buf[3] = n;
            buf[4] = n >> 8;
            uint32_t crc = pyexec_crc32(MPU_PROTO_CRC32_INIT, buf + 1, n + 4) ^ MPU_PROTO_CRC32_XOROUT;
            pyexec_put_u32(buf + MPU_PROTO_BLK_HEADER_LEN + n, crc);
            mp_hal_stdout_tx_strn((const char *)buf, n + MPU_PROTO_BLK_HEADER_LEN + MPU_PROTO_BLK_TRAILER_LEN);
            next++;
        }
        int c = pyexec_blk_rx();
        int seq = -1;
        if (c == MPU_PROTO_BLK_ACK || c == MPU_PROTO_BLK_NAK) {
            seq = pyexec_blk_rx();
        }
        if (c == MPU_PROTO_BLK_ACK && seq == (byte)(base + 1)) {
            base++;
            naks = 0;
        } else if (c == MPU_PROTO_BLK_NAK && (byte)(seq - (base + 1)) < next - base) {
            if (++naks > MPU_PROTO_FILE_MAX_RETRIES) {
                mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("too many bad blocks"));
            }
            mp_hal_stdout_tx_strn(MPU_PROTO_RESYNC, MPU_PROTO_RESYNC_LEN);
            base += (byte)(seq - (base + 1));
            next = base;
            seek = true;
        } else {
            mp_raise_msg(&mp_type_OSError, MP_ERROR_TEXT("aborted by host"));
        }
    }
    // The file was only read: a failure to close it changes nothing.
    pyexec_file_close_quiet(f);
}

// Get, after a CAN: discards input until ms pass without any, or up to a
// Ctrl-D or Ctrl-C (the host sends only 2-byte replies, then nothing).
// Without a clock: nothing is discarded.
static void pyexec_file_quiet(mp_uint_t ms) {
    #if MICROPY_PYEXEC_RX_TIMEOUT_MS
    mp_uint_t start = mp_hal_ticks_ms();
    while (mp_hal_ticks_ms() - start < ms) {
        if (mp_hal_stdio_poll(MP_STREAM_POLL_RD) & MP_STREAM_POLL_RD) {
            int c = mp_hal_stdin_rx_chr();
            if (c == CHAR_CTRL_C || c == CHAR_CTRL_D) {
                return;
            }
            start = mp_hal_ticks_ms();
        } else {
            mp_event_wait_ms(1);
        }
    }
    #else
    (void)ms;
    #endif
}

static bool pyexec_file_is_timeout(mp_obj_t exc) {
    return mp_obj_exception_match(exc, MP_OBJ_FROM_PTR(&mp_type_OSError))
           && mp_obj_exception_get_value(exc) == MP_OBJ_NEW_SMALL_INT(MP_ETIMEDOUT);
}

// B.5: the 'F' sub-command.
static void pyexec_ext_file(void) {
    byte r[5] = { 'R', MPU_PROTO_NEG_ACCEPTED };
    pyexec_ext_u16(r + 2, MICROPY_PYEXEC_FILE_BLOCK);
    r[4] = MICROPY_PYEXEC_FILE_BLOCKS_IN_FLIGHT;
    mp_hal_stdout_tx_strn((const char *)r, sizeof(r));
    mp_hal_set_interrupt_char(-1); // binary data: 0x03 is no interrupt

    pyexec_file_t f;
    memset(&f, 0, sizeof(f));
    f.blk.max_len = MICROPY_PYEXEC_FILE_BLOCK;
    f.blk.max_naks = MPU_PROTO_FILE_MAX_RETRIES;
    f.blk.end_raw = true;
    f.keep_part = true; // nothing to remove until TARGET.part is named
    byte op = 0;
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        f.buf = m_new(byte, PYEXEC_FILE_BUF);
        f.blk.buf = f.buf;
        f.view = mp_obj_new_bytearray_by_ref(0, f.buf);

        // Block 0: the request.
        pyexec_blk_next(&f.blk);
        size_t len = f.blk.len;
        op = f.buf[0];
        if (f.blk.end || len <= MPU_PROTO_FILE_REQ_LEN
            || (op != MPU_PROTO_FILE_PUT && op != MPU_PROTO_FILE_GET)) {
            mp_raise_ValueError(MP_ERROR_TEXT("bad request"));
        }
        byte flags = f.buf[1];
        uint32_t n = pyexec_get_u32(f.buf + 2);
        const char *path = (const char *)f.buf + MPU_PROTO_FILE_REQ_LEN;
        len -= MPU_PROTO_FILE_REQ_LEN;
        const char *z = memchr(path, 0, len);
        size_t dest_len = z ? (size_t)(z - path) : len;
        if (dest_len == 0 || dest_len > MPU_PROTO_FILE_PATH_MAX || len - dest_len > MPU_PROTO_FILE_PATH_MAX + 1) {
            mp_raise_ValueError(MP_ERROR_TEXT("bad path"));
        }
        f.target = mp_obj_new_str(path, dest_len);
        if (op == MPU_PROTO_FILE_GET) {
            pyexec_file_get(&f, n);
        } else {
            // "DEST\0BASE" with DEST an existing directory: DEST/BASE.
            if (dest_len + 1 < len) {
                mp_int_t mode = pyexec_file_mode(f.target, NULL);
                if (mode >= 0 && (mode & MP_S_IFDIR)) {
                    vstr_t v;
                    vstr_init(&v, len + 1);
                    vstr_add_strn(&v, path, dest_len);
                    if (path[dest_len - 1] != '/') {
                        vstr_add_byte(&v, '/');
                    }
                    vstr_add_strn(&v, path + dest_len + 1, len - dest_len - 1);
                    f.target = mp_obj_new_str_from_vstr(&v);
                }
            }
            size_t tlen;
            const char *t = mp_obj_str_get_data(f.target, &tlen);
            pyexec_file_parents(t, tlen, flags & MPU_PROTO_FILE_F_PARENTS);
            vstr_t v;
            vstr_init(&v, tlen + 6);
            vstr_add_strn(&v, t, tlen);
            vstr_add_str(&v, ".part");
            f.part = mp_obj_new_str_from_vstr(&v);
            f.keep_part = false;
            pyexec_file_put(&f, n, flags);
        }
        nlr_pop();
    } else {
        mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
        pyexec_file_close_quiet(&f);
        if (!f.keep_part && !pyexec_file_is_timeout(exc)) {
            nlr_buf_t nlr2;
            if (nlr_push(&nlr2) == 0) {
                mp_vfs_remove(f.part);
                nlr_pop();
            }
        }
        pyexec_ext_report("\x18", exc);
        if (f.sending) {
            // The host may be sending anything: wait for it to go quiet.
            pyexec_file_quiet(100);
        } else {
            pyexec_blk_drain(MICROPY_PYEXEC_FILE_BLOCK);
        }
    }
    if (f.buf != NULL) {
        m_del(byte, f.buf, PYEXEC_FILE_BUF);
    }
}
