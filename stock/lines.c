/* stock: a saga command's lines, checked and summed per item (see stock.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "stock.h"
#include "validate.h"

/* qsort order of stock_line by item id. */
static int stock_line_cmp(const void *a, const void *b)
{
    return strcmp(((const stock_line *)a)->item_id, ((const stock_line *)b)->item_id);
}

int stock_lines_merge(Wdm__OrderLine *const *in, size_t n, stock_line **out, size_t *n_out,
                      const char **why)
{
    stock_line *lines;
    size_t k = 0;

    *out = NULL;
    *n_out = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!validate_id(in[i]->item_id, strlen(in[i]->item_id))) {
            *why = "item_id is not an id";
            return -EINVAL;
        }
        if (in[i]->quantity < 1 || in[i]->quantity > WDM_MAX_AMOUNT) {
            *why = "quantity outside [1, 2^53]";
            return -EINVAL;
        }
    }
    if ((lines = malloc(n * sizeof(*lines))) == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        lines[i] = (stock_line){in[i]->item_id, in[i]->quantity};
    qsort(lines, n, sizeof(*lines), stock_line_cmp);
    /* Sorted, the lines of one item are adjacent: fold each run into its first line. */
    for (size_t i = 1; i < n; i++) {
        if (strcmp(lines[i].item_id, lines[k].item_id) != 0) {
            lines[++k] = lines[i];
        } else if (validate_sum_fits(lines[k].quantity, lines[i].quantity)) {
            lines[k].quantity += lines[i].quantity;
        } else {
            free(lines);
            *why = "an item's quantities add up to more than 2^53";
            return -EINVAL;
        }
    }
    *out = lines;
    *n_out = k + 1;
    return 0;
}
