/* main.c - srmctl entry point (placeholder while the client lands). */
#include <stdio.h>

int main(void)
{
    puts("srmctl");
    return 0;
}
