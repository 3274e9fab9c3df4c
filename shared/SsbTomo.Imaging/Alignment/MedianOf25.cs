using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SsbTomo.Imaging.Alignment;

/// <summary>
/// Medians of 25 consecutive samples for eight positions at once: a selection network on SIMD lanes, for the curtaining
/// filter's running median of the default 25-pixel window.
/// <para>
/// The network is Batcher's odd-even merge sort on 32 wires (Batcher 1968, "Sorting networks and their applications",
/// AFIPS Spring Joint Computer Conference 32, 307; Knuth, TAOCP vol. 3, 5.3.4) with wires 25 to 31 held at +infinity,
/// so the comparators that touch them do nothing or only rename a wire, and with every comparator whose outputs do not
/// reach the median's wire (the 13th smallest) left out, or only the half of it that does: 113 comparators, 202 min
/// and max operations. By the 0-1 principle a comparator network that selects the median of every 0/1 input selects
/// the median of any input; <c>MedianOf25Tests</c> checks all 2^25 of them.
/// </para>
/// <para>
/// A network returns one of its inputs, so its median is the window's median value exactly, as a sort would give it,
/// for finite samples without -0 (min and max of +0 and -0 may return either; the caller keeps rows with -0 to its
/// sorted window).
/// </para>
/// </summary>
internal static class MedianOf25
{
    /// <summary>Samples on each side of the centre.</summary>
    public const int HalfWidth = 12;

    /// <summary>Positions done at once.</summary>
    public static int Lanes => Vector256<float>.Count;

    /// <summary>Whether the lanes run on SIMD hardware; without it the network would be slower than a sorted window.</summary>
    public static bool IsAccelerated => Vector256.IsHardwareAccelerated;

    /// <summary>
    /// For x = 0 .. dst.Length - 1: dst[x] = row[x] - the median of padded[x .. x + 24]. padded holds
    /// row.Length + 24 finite samples without -0, row.Length is at least <see cref="Lanes"/>.
    /// </summary>
    public static void Residual(ReadOnlySpan<float> row, ReadOnlySpan<float> padded, Span<float> dst)
    {
        int w = row.Length, lanes = Lanes;
        if (w < lanes || padded.Length < w + 2 * HalfWidth || dst.Length != w)
            throw new ArgumentException($"need a row of at least {lanes} samples, {2 * HalfWidth} more padded ones and a destination of the row's length");
        for (int x = 0; ; x += lanes)
        {
            // The last block ends at the row's end, overlapping the one before it: same values written twice.
            if (x > w - lanes) x = w - lanes;
            var median = Median(padded, x);
            (Vector256.Create(row.Slice(x, lanes)) - median).CopyTo(dst.Slice(x, lanes));
            if (x == w - lanes) break;
        }
    }

    /// <summary>Lane j: the median of samples[x + j .. x + j + 24].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static Vector256<float> Median(ReadOnlySpan<float> samples, int x)
    {
        ref float s = ref MemoryMarshal.GetReference(samples.Slice(x, 2 * HalfWidth + Vector256<float>.Count));
        var v0 = Vector256.LoadUnsafe(ref s, 0); var v1 = Vector256.LoadUnsafe(ref s, 1); var v2 = Vector256.LoadUnsafe(ref s, 2);
        var v3 = Vector256.LoadUnsafe(ref s, 3); var v4 = Vector256.LoadUnsafe(ref s, 4); var v5 = Vector256.LoadUnsafe(ref s, 5);
        var v6 = Vector256.LoadUnsafe(ref s, 6); var v7 = Vector256.LoadUnsafe(ref s, 7); var v8 = Vector256.LoadUnsafe(ref s, 8);
        var v9 = Vector256.LoadUnsafe(ref s, 9); var v10 = Vector256.LoadUnsafe(ref s, 10); var v11 = Vector256.LoadUnsafe(ref s, 11);
        var v12 = Vector256.LoadUnsafe(ref s, 12); var v13 = Vector256.LoadUnsafe(ref s, 13); var v14 = Vector256.LoadUnsafe(ref s, 14);
        var v15 = Vector256.LoadUnsafe(ref s, 15); var v16 = Vector256.LoadUnsafe(ref s, 16); var v17 = Vector256.LoadUnsafe(ref s, 17);
        var v18 = Vector256.LoadUnsafe(ref s, 18); var v19 = Vector256.LoadUnsafe(ref s, 19); var v20 = Vector256.LoadUnsafe(ref s, 20);
        var v21 = Vector256.LoadUnsafe(ref s, 21); var v22 = Vector256.LoadUnsafe(ref s, 22); var v23 = Vector256.LoadUnsafe(ref s, 23);
        var v24 = Vector256.LoadUnsafe(ref s, 24);
        // Generated: comparator (a, b) -> (min, max) as new names, in network order.
        var v25 = Vector256.MinNative(v0, v1); var v26 = Vector256.MaxNative(v0, v1); var v27 = Vector256.MinNative(v2, v3);
        var v28 = Vector256.MaxNative(v2, v3); var v29 = Vector256.MinNative(v4, v5); var v30 = Vector256.MaxNative(v4, v5);
        var v31 = Vector256.MinNative(v6, v7); var v32 = Vector256.MaxNative(v6, v7); var v33 = Vector256.MinNative(v8, v9);
        var v34 = Vector256.MaxNative(v8, v9); var v35 = Vector256.MinNative(v10, v11); var v36 = Vector256.MaxNative(v10, v11);
        var v37 = Vector256.MinNative(v12, v13); var v38 = Vector256.MaxNative(v12, v13); var v39 = Vector256.MinNative(v14, v15);
        var v40 = Vector256.MaxNative(v14, v15); var v41 = Vector256.MinNative(v16, v17); var v42 = Vector256.MaxNative(v16, v17);
        var v43 = Vector256.MinNative(v18, v19); var v44 = Vector256.MaxNative(v18, v19); var v45 = Vector256.MinNative(v20, v21);
        var v46 = Vector256.MaxNative(v20, v21); var v47 = Vector256.MinNative(v22, v23); var v48 = Vector256.MaxNative(v22, v23);
        var v49 = Vector256.MinNative(v25, v27); var v50 = Vector256.MaxNative(v25, v27); var v51 = Vector256.MinNative(v26, v28);
        var v52 = Vector256.MaxNative(v26, v28); var v53 = Vector256.MinNative(v29, v31); var v54 = Vector256.MaxNative(v29, v31);
        var v55 = Vector256.MinNative(v30, v32); var v56 = Vector256.MaxNative(v30, v32); var v57 = Vector256.MinNative(v33, v35);
        var v58 = Vector256.MaxNative(v33, v35); var v59 = Vector256.MinNative(v34, v36); var v60 = Vector256.MaxNative(v34, v36);
        var v61 = Vector256.MinNative(v37, v39); var v62 = Vector256.MaxNative(v37, v39); var v63 = Vector256.MinNative(v38, v40);
        var v64 = Vector256.MaxNative(v38, v40); var v65 = Vector256.MinNative(v41, v43); var v66 = Vector256.MaxNative(v41, v43);
        var v67 = Vector256.MinNative(v42, v44); var v68 = Vector256.MaxNative(v42, v44); var v69 = Vector256.MinNative(v45, v47);
        var v70 = Vector256.MaxNative(v45, v47); var v71 = Vector256.MinNative(v46, v48); var v72 = Vector256.MaxNative(v46, v48);
        var v73 = Vector256.MinNative(v51, v50); var v74 = Vector256.MaxNative(v51, v50); var v75 = Vector256.MinNative(v55, v54);
        var v76 = Vector256.MaxNative(v55, v54); var v77 = Vector256.MinNative(v59, v58); var v78 = Vector256.MaxNative(v59, v58);
        var v79 = Vector256.MinNative(v63, v62); var v80 = Vector256.MaxNative(v63, v62); var v81 = Vector256.MinNative(v67, v66);
        var v82 = Vector256.MaxNative(v67, v66); var v83 = Vector256.MinNative(v71, v70); var v84 = Vector256.MaxNative(v71, v70);
        var v85 = Vector256.MinNative(v49, v53); var v86 = Vector256.MaxNative(v49, v53); var v87 = Vector256.MinNative(v73, v75);
        var v88 = Vector256.MaxNative(v73, v75); var v89 = Vector256.MinNative(v74, v76); var v90 = Vector256.MaxNative(v74, v76);
        var v91 = Vector256.MinNative(v52, v56); var v92 = Vector256.MaxNative(v52, v56); var v93 = Vector256.MinNative(v57, v61);
        var v94 = Vector256.MaxNative(v57, v61); var v95 = Vector256.MinNative(v77, v79); var v96 = Vector256.MaxNative(v77, v79);
        var v97 = Vector256.MinNative(v78, v80); var v98 = Vector256.MaxNative(v78, v80); var v99 = Vector256.MinNative(v60, v64);
        var v100 = Vector256.MaxNative(v60, v64); var v101 = Vector256.MinNative(v65, v69); var v102 = Vector256.MaxNative(v65, v69);
        var v103 = Vector256.MinNative(v81, v83); var v104 = Vector256.MaxNative(v81, v83); var v105 = Vector256.MinNative(v82, v84);
        var v106 = Vector256.MaxNative(v82, v84); var v107 = Vector256.MinNative(v68, v72); var v108 = Vector256.MaxNative(v68, v72);
        var v109 = Vector256.MinNative(v89, v86); var v110 = Vector256.MaxNative(v89, v86); var v111 = Vector256.MinNative(v91, v88);
        var v112 = Vector256.MaxNative(v91, v88); var v113 = Vector256.MinNative(v97, v94); var v114 = Vector256.MaxNative(v97, v94);
        var v115 = Vector256.MinNative(v99, v96); var v116 = Vector256.MaxNative(v99, v96); var v117 = Vector256.MinNative(v105, v102);
        var v118 = Vector256.MaxNative(v105, v102); var v119 = Vector256.MinNative(v107, v104); var v120 = Vector256.MaxNative(v107, v104);
        var v121 = Vector256.MinNative(v87, v109); var v122 = Vector256.MaxNative(v87, v109); var v123 = Vector256.MinNative(v111, v110);
        var v124 = Vector256.MaxNative(v111, v110); var v125 = Vector256.MinNative(v112, v90); var v126 = Vector256.MaxNative(v112, v90);
        var v127 = Vector256.MinNative(v95, v113); var v128 = Vector256.MaxNative(v95, v113); var v129 = Vector256.MinNative(v115, v114);
        var v130 = Vector256.MaxNative(v115, v114); var v131 = Vector256.MinNative(v116, v98); var v132 = Vector256.MaxNative(v116, v98);
        var v133 = Vector256.MinNative(v103, v117); var v134 = Vector256.MaxNative(v103, v117); var v135 = Vector256.MinNative(v119, v118);
        var v136 = Vector256.MaxNative(v119, v118); var v137 = Vector256.MinNative(v120, v106); var v138 = Vector256.MaxNative(v120, v106);
        var v139 = Vector256.MinNative(v85, v93); var v140 = Vector256.MaxNative(v85, v93); var v141 = Vector256.MinNative(v121, v127);
        var v142 = Vector256.MaxNative(v121, v127); var v143 = Vector256.MinNative(v122, v128); var v144 = Vector256.MaxNative(v122, v128);
        var v145 = Vector256.MinNative(v123, v129); var v146 = Vector256.MaxNative(v123, v129); var v147 = Vector256.MinNative(v124, v130);
        var v148 = Vector256.MaxNative(v124, v130); var v149 = Vector256.MinNative(v125, v131); var v150 = Vector256.MaxNative(v125, v131);
        var v151 = Vector256.MinNative(v126, v132); var v152 = Vector256.MaxNative(v126, v132); var v153 = Vector256.MinNative(v92, v100);
        var v155 = Vector256.MinNative(v101, v24); var v156 = Vector256.MaxNative(v101, v24); var v157 = Vector256.MinNative(v147, v140);
        var v158 = Vector256.MaxNative(v147, v140); var v159 = Vector256.MinNative(v149, v142); var v160 = Vector256.MaxNative(v149, v142);
        var v161 = Vector256.MinNative(v151, v144); var v162 = Vector256.MaxNative(v151, v144); var v163 = Vector256.MinNative(v153, v146);
        var v164 = Vector256.MaxNative(v153, v146); var v165 = Vector256.MinNative(v136, v156); var v166 = Vector256.MaxNative(v136, v156);
        var v167 = Vector256.MinNative(v143, v157); var v168 = Vector256.MaxNative(v143, v157); var v169 = Vector256.MinNative(v145, v159);
        var v170 = Vector256.MaxNative(v145, v159); var v171 = Vector256.MinNative(v161, v158); var v172 = Vector256.MaxNative(v161, v158);
        var v173 = Vector256.MinNative(v163, v160); var v174 = Vector256.MaxNative(v163, v160); var v175 = Vector256.MinNative(v162, v148);
        var v176 = Vector256.MaxNative(v162, v148); var v177 = Vector256.MinNative(v164, v150); var v178 = Vector256.MaxNative(v164, v150);
        var v179 = Vector256.MinNative(v134, v165); var v180 = Vector256.MaxNative(v134, v165); var v181 = Vector256.MinNative(v135, v137);
        var v182 = Vector256.MaxNative(v135, v137); var v183 = Vector256.MinNative(v138, v166); var v184 = Vector256.MaxNative(v138, v166);
        var v185 = Vector256.MinNative(v141, v167); var v186 = Vector256.MaxNative(v141, v167); var v187 = Vector256.MinNative(v169, v168);
        var v188 = Vector256.MaxNative(v169, v168); var v189 = Vector256.MinNative(v170, v171); var v190 = Vector256.MaxNative(v170, v171);
        var v191 = Vector256.MinNative(v173, v172); var v192 = Vector256.MaxNative(v173, v172); var v193 = Vector256.MinNative(v174, v175);
        var v194 = Vector256.MaxNative(v174, v175); var v195 = Vector256.MinNative(v177, v176); var v196 = Vector256.MaxNative(v177, v176);
        var v197 = Vector256.MinNative(v178, v152); var v199 = Vector256.MinNative(v133, v179); var v200 = Vector256.MaxNative(v133, v179);
        var v201 = Vector256.MinNative(v181, v180); var v202 = Vector256.MaxNative(v181, v180); var v203 = Vector256.MinNative(v182, v183);
        var v204 = Vector256.MaxNative(v182, v183); var v205 = Vector256.MinNative(v108, v184); var v206 = Vector256.MaxNative(v108, v184);
        var v208 = Vector256.MaxNative(v139, v155); var v210 = Vector256.MaxNative(v185, v199); var v212 = Vector256.MaxNative(v186, v200);
        var v214 = Vector256.MaxNative(v187, v201); var v216 = Vector256.MaxNative(v188, v202); var v218 = Vector256.MaxNative(v189, v203);
        var v219 = Vector256.MinNative(v190, v204); var v221 = Vector256.MinNative(v191, v205); var v223 = Vector256.MinNative(v192, v206);
        var v226 = Vector256.MaxNative(v223, v208); var v228 = Vector256.MaxNative(v193, v210); var v229 = Vector256.MinNative(v194, v212);
        var v231 = Vector256.MinNative(v195, v214); var v233 = Vector256.MinNative(v196, v216); var v235 = Vector256.MinNative(v197, v218);
        var v246 = Vector256.MaxNative(v219, v229); var v248 = Vector256.MaxNative(v221, v231); var v249 = Vector256.MinNative(v233, v226);
        var v251 = Vector256.MinNative(v235, v228); var v268 = Vector256.MaxNative(v246, v249); var v269 = Vector256.MinNative(v248, v251);
        var v292 = Vector256.MaxNative(v269, v268);
        return v292;
    }
}
