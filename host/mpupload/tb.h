/* mpupload tb: tracebacks, line by line: `File "<stdin>"` rewritten to the real path. */
#ifndef MPU_TB_H
#define MPU_TB_H

#include <stddef.h>

/** What the traceback said, filled in as lines pass. */
struct mpu_tb {
    const char *path;      /**< the uploaded file, or NULL */
    const char *src_name;  /**< the frame name of the uploaded code: "<stdin>" (NULL), or "<string>" */
    int keep_stdin;        /**< leave File "<stdin>" lines as they are (code that is not path's) */
    int drop_stdin;        /**< drop File "<stdin>" lines (a loader wrapped around path's .mpy) */
    char exc_type[64];     /**< "ZeroDivisionError" */
    char exc_msg[256];     /**< "divide by zero" */
    int line;              /**< line of the innermost frame in path (or <stdin>), 0 if none */
    int after_file;        /**< the last line was a File line */
};

/**
 * Rewrite one traceback line (no line end) into out and note what it says.
 * @return the length written to out, or (size_t)-1 when the line is dropped.
 */
size_t mpu_tb_line(struct mpu_tb *tb, const char *line, size_t n, char *out, size_t out_len);

#endif
