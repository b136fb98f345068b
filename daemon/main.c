/* main.c - srmd entry point (placeholder while the core lands). */
#include <stdio.h>

int main(void)
{
    puts("srmd " SRM_VERSION);
    return 0;
}
