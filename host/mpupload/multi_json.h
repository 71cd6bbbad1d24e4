/* mpupload multi_json: reading the children's JSON event lines, one flat
 * object at a time, without copying. */
#ifndef MPU_MULTI_JSON_H
#define MPU_MULTI_JSON_H

/** One member of an object: the key with its quotes, and the raw value. */
struct mu_js_member {
    const char *k, *k_end;
    const char *v, *v_end;
};

/**
 * Split the JSON object in [p, e) (whitespace around it allowed) into its
 * members, the first max of them.
 * @return how many, or -1 when [p, e) is not exactly one valid object.
 */
int mu_js_members(const char *p, const char *e, struct mu_js_member *m, int max);

/** @return the member named key (plain ASCII, no escapes), or NULL. */
const struct mu_js_member *mu_js_get(const struct mu_js_member *m, int n, const char *key);

/** @return 1 when the member is named key. */
int mu_js_key_is(const struct mu_js_member *m, const char *key);

/**
 * Decode the JSON string in [p, e) into out, which has room for e - p bytes
 * (no NUL is added); \u escapes become UTF-8.
 * @return its length, or -1 when [p, e) is not a string.
 */
long mu_js_str(const char *p, const char *e, char *out);

#endif
