/* The C half of pyshared-demo: what an old upstream compiled into _speedups.so. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <ctype.h>

static PyObject *word_count(PyObject *self, PyObject *args)
{
    const char *text;
    long words = 0;
    int in_word = 0;

    if (!PyArg_ParseTuple(args, "s", &text))
        return NULL;
    for (; *text; text++) {
        if (isspace((unsigned char)*text)) {
            in_word = 0;
        } else if (!in_word) {
            in_word = 1;
            words++;
        }
    }
    return PyLong_FromLong(words);
}

static PyMethodDef methods[] = {
    {"word_count", word_count, METH_VARARGS, "Count the words of a string."},
    {NULL, NULL, 0, NULL}
};

static struct PyModuleDef speedups = {PyModuleDef_HEAD_INIT, "_speedups", NULL, -1, methods};

PyMODINIT_FUNC PyInit__speedups(void)
{
    PyObject *module = PyModule_Create(&speedups);
    if (module != NULL && PyModule_AddStringConstant(module, "built_with", PY_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
