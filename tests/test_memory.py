"Issue 23: `estimate_memory` against the measured peak resident memory of training steps on a tiny decoder (CPU)."
import json, os, subprocess, sys, textwrap
import pytest, torch
from transformers import LlamaConfig
from adapt_nb.config import AdaptConfig
from adapt_nb.costs import activation_coefs, estimate_memory, memory_setup, memory_restore

# hidden 256, 4 layers, batches of 8 x 128 tokens: activations of tens of MiB, well above the process's noise
CFG = dict(vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=4, num_attention_heads=4,
           num_key_value_heads=2, pad_token_id=0, num_labels=2, max_position_embeddings=256)
BS, SEQ = 8, 128
TRAIN = ['model.embed_tokens', 'model.layers.2.mlp.down_proj', 'model.layers.3.self_attn.q_proj', 'score']

# One fresh process per measurement: its resident-set high-water mark (VmHWM) is reset right before the steps. glibc's
# fixed mmap threshold returns freed tensors to the system at once, so the resident set follows the live tensors.
CHILD = textwrap.dedent('''
    import gc, json, sys, torch
    from transformers import LlamaConfig, AutoModelForSequenceClassification
    from adapt_nb.costs import memory_setup
    torch.set_num_threads(1)
    cfg, train, ckpt, bs, seq = json.loads(sys.argv[1])
    def rss(key):
        return next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith(key))
    def make(c, train):
        torch.manual_seed(0)
        m = AutoModelForSequenceClassification.from_config(LlamaConfig(**c)).train()
        memory_setup(m, train, checkpointing=ckpt)
        return m, torch.optim.AdamW([p for p in m.parameters() if p.requires_grad], lr=1e-3)
    def step(m, opt, b, s):
        x = torch.randint(1, cfg['vocab_size'], (b, s), generator=torch.Generator().manual_seed(0))
        m(input_ids=x, attention_mask=torch.ones_like(x), labels=torch.zeros(b, dtype=torch.long)).loss.backward()
        opt.step(); opt.zero_grad(set_to_none=False)         # as fastai: the gradients stay allocated
    step(*make(dict(cfg, hidden_size=32, intermediate_size=64, num_hidden_layers=1), train[:1]), 1, 8)  # lazy init
    gc.collect(); before_model = rss('VmRSS:')
    m, opt = make(cfg, train); step(m, opt, 1, 8)                  # weights, gradients and AdamW's state exist
    gc.collect(); before_step = rss('VmRSS:')
    open('/proc/self/clear_refs', 'w').write('5')
    for _ in range(2): step(m, opt, bs, seq)
    peak = rss('VmHWM:')
    print(json.dumps(dict(peak=peak - before_model, step=peak - before_step)))
''')


def measure(ckpt:bool)->dict:
    "Peak resident bytes of two training steps above the process before the model (`peak`) and before the steps (`step`)."
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', OMP_NUM_THREADS='1', HF_HUB_OFFLINE='1')
    out = subprocess.run([sys.executable, '-c', CHILD, json.dumps([CFG, TRAIN, ckpt, BS, SEQ])], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def _model():
    from transformers import AutoModelForSequenceClassification
    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_config(LlamaConfig(**CFG))


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='VmHWM and its reset are Linux /proc features')
def test_estimate_within_15_percent_of_measured_peak():
    "Fp32 on the CPU: the estimate is within 15% of the measured peak; checkpointing shrinks activations as estimated."
    got, est = {}, {}
    for ckpt in (False, True):
        m = _model(); memory_setup(m, TRAIN, checkpointing=ckpt)
        cfg = AdaptConfig(bs=BS, max_length=SEQ, checkpointing=ckpt, device='cpu', precision='fp32')
        est[ckpt], got[ckpt] = estimate_memory(m, cfg), measure(ckpt)
        e, g = est[ckpt], got[ckpt]
        print(f"checkpointing={ckpt}: estimate {e['total'] / 2**20:.1f} MiB (activations {e['activations'] / 2**20:.1f}), "
              f"measured peak {g['peak'] / 2**20:.1f} MiB (step {g['step'] / 2**20:.1f})")
        assert abs(g['peak'] / e['total'] - 1) <= 0.15, (e, g)
    factor, expected = got[True]['step'] / got[False]['step'], est[True]['activations'] / est[False]['activations']
    print(f"activation memory with checkpointing: x{factor:.2f} measured, x{expected:.2f} expected")
    assert abs(factor / expected - 1) <= 0.2 and factor < 0.7


def test_frozen_weights_in_bf16_train_in_fp32():
    "memory_setup: frozen weights bf16, trained ones fp32 with fp32 gradients (CPU autocast); restore undoes it."
    m = _model()
    info = memory_setup(m, TRAIN, checkpointing=True, frozen_dtype='bf16')
    dtypes = {n: p.dtype for n, p in m.named_parameters()}
    assert all((dt == torch.float32) == p.requires_grad for (n, dt), p in zip(dtypes.items(), m.parameters()))
    assert dtypes['model.layers.0.mlp.up_proj.weight'] == torch.bfloat16 and dtypes['score.weight'] == torch.float32
    x = torch.randint(1, 512, (2, 16))
    with torch.autocast('cpu', torch.bfloat16):
        loss = m(input_ids=x, attention_mask=torch.ones_like(x), labels=torch.zeros(2, dtype=torch.long)).loss
    loss.backward()
    tr = [p for p in m.parameters() if p.requires_grad]
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in tr)
    est = estimate_memory(m, AdaptConfig(bs=2, max_length=16, frozen_dtype='bf16', device='cpu', precision='fp32'),
                          coefs=activation_coefs(m.config, 16, device='cpu', precision='fp32'))
    assert est['weights'] == sum(p.numel() * p.element_size() for p in m.parameters())   # exact: 2 or 4 bytes each
    assert info['bytes_saved'] == 2 * sum(p.numel() for p in m.parameters() if not p.requires_grad)
    memory_restore(m)
    assert all(p.dtype == torch.float32 for p in m.parameters()) and not m.is_activation_checkpointing
    with pytest.raises(ValueError, match="frozen_dtype='bf16' needs mixed precision"):
        memory_setup(m, TRAIN, frozen_dtype='bf16', amp='fp32')
