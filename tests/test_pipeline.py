"""The steps of `adapt()` composed by hand, as a notebook reader calls them, with nothing but the task: the same
selection and the same scores as `adapt()` (issue 20). Every step takes its defaults from `AdaptConfig`."""
import os
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false'); os.environ.setdefault('HF_HUB_OFFLINE', '1')
import pytest, torch
from fastai.torch_core import set_seed
from adapt_nb.config import AdaptConfig
from adapt_nb.data import TaskData, load_rotten_tomatoes
from adapt_nb.models import load_classifier
from adapt_nb.sensitivity import sensitivity_batches, module_sensitivity, sensitivity_scores, select_modules
from adapt_nb.learner import SparseFinetune
from adapt_nb.pipeline import adapt, select_trainable, fit, score_run

torch.set_num_threads(1)

@pytest.fixture(scope='module')
def short_task():
    "A small task of short texts (the first three words of RT snippets): the default 300 steps in a minute."
    cut = lambda df: df.assign(text=df['text'].str.split().str[:3].str.join(' ')).drop_duplicates('text')
    s = load_rotten_tomatoes(seed=0).subsample(n_train=256, n_valid=48, n_test=48, seed=0)
    return TaskData('rt_short', cut(s.train), cut(s.test), s.label_names, cut(s.valid))

def test_steps_by_hand_equal_adapt(short_task):
    "Selection, valid and test macro-F1: bit for bit the same by hand as through `adapt()`."
    task = short_task
    auto = adapt(task, progress=False)
    set_seed(AdaptConfig.seed)                        # adapt() seeds first (the head's initialisation draws from it)
    clf, tok = load_classifier(num_labels=task.num_labels, label_names=task.label_names, dtype=torch.float32)
    batches = sensitivity_batches(tok, task.train['text'], task.train['label'])
    sel = select_modules(sensitivity_scores(module_sensitivity(clf, batches, progress=False)))
    assert sel.modules == auto.selection.modules
    assert sel.table['S'].tolist() == auto.selection.table['S'].tolist()
    learn, costs = fit(clf, tok, task, cbs=[SparseFinetune(sel)], say=lambda *a: None)
    test, valid = score_run(learn, task)
    assert (test['macro_f1'], valid['macro_f1']) == (auto.metrics['macro_f1'], auto.valid_metrics['macro_f1'])
    assert costs['epochs'] == auto.costs['epochs'] and learn.lr_max == auto.lr

def test_select_trainable_is_the_by_hand_selection(short_task):
    "The pipeline's step 2 with no settings is the composition of the sensitivity functions with theirs."
    set_seed(0)
    clf, tok = load_classifier(num_labels=2, label_names=short_task.label_names)
    by_step = select_trainable(clf, tok, short_task)
    by_hand = select_modules(sensitivity_scores(module_sensitivity(
        clf, sensitivity_batches(tok, short_task.train['text'], short_task.train['label']), progress=False)))
    assert by_step.modules == by_hand.modules and by_step.n_trainable == by_hand.n_trainable
