/* cloudgate libvirt driver: lists read from SQLite (see lv_rows.h). */
#include "lv_rows.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../gateway/store.h"

void *lv_rows_grow(void **v, size_t n, size_t size, cg_error *err)
{
    char *bigger = *v;

    /* Room for n is n rounded up to a power of two: full at 0, 1, 2, 4... */
    if ((n & (n - 1)) == 0) {
        if (n > SIZE_MAX / 2 / size || !(bigger = realloc(*v, (n ? 2 * n : 1) * size))) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            return NULL;
        }
        *v = bigger;
    }
    memset(bigger + n * size, 0, size);
    return bigger + n * size;
}

int lv_rows_read_tags(sqlite3 *db, const char *sql, const char *id, cg_tags *tags,
                      cg_error *err)
{
    sqlite3_stmt *s = cg_db_prep(db, err, sql, "s", id);
    int rc = s ? 1 : -1;

    while (rc >= 0 && (rc = cg_db_step(s, err, "read tags")) == 1) {
        if (cg_tags_set(tags, (const char *)sqlite3_column_text(s, 0),
                        (const char *)sqlite3_column_text(s, 1)) < 0) {
            cg_error_set(err, CG_ERR_INTERNAL, "out of memory");
            rc = -1;
        }
    }
    cg_db_done(s);
    return rc < 0 ? -1 : 0;
}

int lv_rows_read(lv_state *st, const lv_row_kind *k, void **v, size_t *n, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    sqlite3_stmt *s = cg_db_prep(db, err, k->sql, "");
    char *elem;
    int rc = s ? 1 : -1;

    *v = NULL;
    *n = 0;
    while (rc >= 0 && (rc = cg_db_step(s, err, "read rows")) == 1) {
        if (!(elem = lv_rows_grow(v, *n, k->size, err))) {
            rc = -1;
            break;
        }
        (*n)++;
        k->from_row(s, elem);
        if (k->tags_sql && lv_rows_read_tags(db, k->tags_sql, elem + k->id_at,
                                             (cg_tags *)(void *)(elem + k->tags_at), err) < 0)
            rc = -1;
    }
    cg_db_done(s);
    lv_state_db_unlock(st);
    if (rc < 0) {
        cg_tagged_array_free(*v, k->tags_sql ? *n : 0, k->size, k->tags_at);
        *v = NULL;
        *n = 0;
    }
    return rc < 0 ? -1 : 0;
}

/* The statements of lv_rows_tags_edit, inside its transaction. */
static int tags_edit(sqlite3 *db, const lv_tag_table *t, const char *id, const cg_tags *tags,
                     int remove, cg_error *err)
{
    long long one;
    int rc = cg_db_int(db, err, &one, t->exists_sql, "s", id);

    if (rc == 0)
        cg_error_set(err, CG_ERR_NOT_FOUND, "%s %s does not exist", t->what, id);
    if (rc <= 0)
        return -1;
    return cg_db_tags_write(db, t->table, t->id_col, id, tags, remove, err);
}

int lv_rows_tags_edit(lv_state *st, const lv_tag_table *t, const char *id, const cg_tags *tags,
                      int remove, cg_error *err)
{
    sqlite3 *db = lv_state_db_lock(st);
    int ret = -1;

    if (cg_db_begin(db, err) == 0)
        ret = cg_db_end(db, tags_edit(db, t, id, tags, remove, err) == 0, err);
    lv_state_db_unlock(st);
    return ret;
}

int lv_rows_sort_by_id(void *v, size_t n, size_t size)
{
    char *a = v, *tmp;
    size_t w, lo, mid, hi, i, j, k;
    int left;

    if (n < 2)
        return 0;
    if (!(tmp = malloc(n * size)))
        return -1;
    /* Bottom-up merge sort: stable, so rows of one id keep their order
     * (an instance's groups are listed in the order they were given). */
    for (w = 1; w < n; w *= 2) {
        for (lo = 0; lo + w < n; lo += 2 * w) {
            mid = lo + w;
            hi = mid + w < n ? mid + w : n;
            for (i = lo, j = mid, k = 0; i < mid || j < hi; k++) {
                left = j >= hi || (i < mid && strcmp(a + i * size, a + j * size) <= 0);
                memcpy(tmp + k * size, a + (left ? i++ : j++) * size, size);
            }
            memcpy(a + lo * size, tmp, k * size);
        }
    }
    free(tmp);
    return 0;
}

size_t lv_rows_find_id(const void *v, size_t n, size_t size, const char *id)
{
    const char *b = v;
    size_t lo = 0, hi = n, mid;

    while (lo < hi) { /* the first row not below id */
        mid = lo + (hi - lo) / 2;
        if (strcmp(b + mid * size, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(b + lo * size, id) == 0 ? lo : n;
}
