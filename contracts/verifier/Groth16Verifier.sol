// SPDX-License-Identifier: GPL-3.0
/*
    Copyright 2021 0KIMS association.

    This file is generated with [snarkJS](https://github.com/iden3/snarkjs).

    snarkJS is a free software: you can redistribute it and/or modify it
    under the terms of the GNU General Public License as published by
    the Free Software Foundation, either version 3 of the License, or
    (at your option) any later version.

    snarkJS is distributed in the hope that it will be useful, but WITHOUT
    ANY WARRANTY; without even the implied warranty of MERCHANTABILITY
    or FITNESS FOR A PARTICULAR PURPOSE. See the GNU General Public
    License for more details.

    You should have received a copy of the GNU General Public License
    along with snarkJS. If not, see <https://www.gnu.org/licenses/>.
*/

pragma solidity >=0.7.0 <0.9.0;

contract Groth16Verifier {
    // Scalar field size
    uint256 constant r    = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    // Base field size
    uint256 constant q   = 21888242871839275222246405745257275088696311157297823662689037894645226208583;

    // Verification Key data
    uint256 constant alphax  = 19070663635001176769859552622350944781620268169199666003913636178221334883071;
    uint256 constant alphay  = 7121477016759762730188633889459366339099320469913952261252968750481230242545;
    uint256 constant betax1  = 18472955947717352049986166096899460617261244539608517308320059691034624982701;
    uint256 constant betax2  = 13646581678133397707238229712215422514789805193769663345049540376820217708119;
    uint256 constant betay1  = 17781254204625696543415800715795980787997178250460510560965560258395877296255;
    uint256 constant betay2  = 9105066640490183335299377600201334862269410875091589561073224629026474642481;
    uint256 constant gammax1 = 11559732032986387107991004021392285783925812861821192530917403151452391805634;
    uint256 constant gammax2 = 10857046999023057135944570762232829481370756359578518086990519993285655852781;
    uint256 constant gammay1 = 4082367875863433681332203403145435568316851327593401208105741076214120093531;
    uint256 constant gammay2 = 8495653923123431417604973247489272438418190587263600148770280649306958101930;
    uint256 constant deltax1 = 16099202877375089134602555100175003766833496389331252266713355323027305773588;
    uint256 constant deltax2 = 20632710241912640154866939292399341077699198922011203566263486518433718904093;
    uint256 constant deltay1 = 1460225370441968443782440186748408911099406745126671013346785068154062405443;
    uint256 constant deltay2 = 15994315546974487983620716981669144143921041879767488871577855321426688976906;

    
    uint256 constant IC0x = 11134581447731323026196915606367621417459713752997759989235204041130671615318;
    uint256 constant IC0y = 11341154455221141406675489700220758163201404042237875989438786038977205862104;
    
    uint256 constant IC1x = 15217696485971065779100219286350825895847058542378429369980545842446482262156;
    uint256 constant IC1y = 12592412543799825066854324581683953428229100910657604218702930840840133857697;
    
    uint256 constant IC2x = 7176305423452722933444148915670682831982392206969154713832199108585905607232;
    uint256 constant IC2y = 6582648844239896987377161091516642242135120368088649797591799463538790227982;
    
    uint256 constant IC3x = 13853802150641826179350192444610536271121682319634278282973977280976819998136;
    uint256 constant IC3y = 20079340006206175304823305842780866300863869136776989348603395855997042172115;
    
    uint256 constant IC4x = 11694875632082153272656611839946338011614631119889165019545754417371633907683;
    uint256 constant IC4y = 7906835757323624092854988868673264676690514714272490191057883829971050188843;
    
    uint256 constant IC5x = 19056855787460969736779763483508486929356000063439699435530831426522348075143;
    uint256 constant IC5y = 5501317217217793622995083511377404514168765288918080908415278050892828165974;
    
    uint256 constant IC6x = 21883536012300207309883061397235861450430805063106564462416067225720526015382;
    uint256 constant IC6y = 1536268407399193809524808868870773718379907457207125071810792255895136199901;
    
    uint256 constant IC7x = 17355724896464757329722294640172463316431866350657304453961663635638251555158;
    uint256 constant IC7y = 8187099557133858192143115939505780910901106187433606281353664350433024695558;
    
    uint256 constant IC8x = 17792463805765350295997347898683609929761374267081725228388048045445165405930;
    uint256 constant IC8y = 20641699556238298832851522355682537093045700302233053985871394348480607276935;
    
    uint256 constant IC9x = 13908295087812323192330182640909392259300473846091776132685084523575366792046;
    uint256 constant IC9y = 5316391568016425383274164015669197827166428872402821292118244868348945531462;
    
    uint256 constant IC10x = 10717597013023876955803677001003176686991760216561566909887095768446899138913;
    uint256 constant IC10y = 2532884044552918967030500610061541359782475396636756520489705586995737946513;
    
    uint256 constant IC11x = 4784544428667486504767257622278864706969221867285608558899793248788983664594;
    uint256 constant IC11y = 17249450141098337092247663270049619192850049867897677725606302039473589157467;
    
 
    // Memory data
    uint16 constant pVk = 0;
    uint16 constant pPairing = 128;

    uint16 constant pLastMem = 896;

    function verifyProof(uint[2] calldata _pA, uint[2][2] calldata _pB, uint[2] calldata _pC, uint[11] calldata _pubSignals) public view returns (bool) {
        assembly {
            function checkField(v) {
                if iszero(lt(v, r)) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }
            
            // G1 function to multiply a G1 value(x,y) to value in an address
            function g1_mulAccC(pR, x, y, s) {
                let success
                let mIn := mload(0x40)
                mstore(mIn, x)
                mstore(add(mIn, 32), y)
                mstore(add(mIn, 64), s)

                success := staticcall(sub(gas(), 2000), 7, mIn, 96, mIn, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }

                mstore(add(mIn, 64), mload(pR))
                mstore(add(mIn, 96), mload(add(pR, 32)))

                success := staticcall(sub(gas(), 2000), 6, mIn, 128, pR, 64)

                if iszero(success) {
                    mstore(0, 0)
                    return(0, 0x20)
                }
            }

            function checkPairing(pA, pB, pC, pubSignals, pMem) -> isOk {
                let _pPairing := add(pMem, pPairing)
                let _pVk := add(pMem, pVk)

                mstore(_pVk, IC0x)
                mstore(add(_pVk, 32), IC0y)

                // Compute the linear combination vk_x
                
                g1_mulAccC(_pVk, IC1x, IC1y, calldataload(add(pubSignals, 0)))
                
                g1_mulAccC(_pVk, IC2x, IC2y, calldataload(add(pubSignals, 32)))
                
                g1_mulAccC(_pVk, IC3x, IC3y, calldataload(add(pubSignals, 64)))
                
                g1_mulAccC(_pVk, IC4x, IC4y, calldataload(add(pubSignals, 96)))
                
                g1_mulAccC(_pVk, IC5x, IC5y, calldataload(add(pubSignals, 128)))
                
                g1_mulAccC(_pVk, IC6x, IC6y, calldataload(add(pubSignals, 160)))
                
                g1_mulAccC(_pVk, IC7x, IC7y, calldataload(add(pubSignals, 192)))
                
                g1_mulAccC(_pVk, IC8x, IC8y, calldataload(add(pubSignals, 224)))
                
                g1_mulAccC(_pVk, IC9x, IC9y, calldataload(add(pubSignals, 256)))
                
                g1_mulAccC(_pVk, IC10x, IC10y, calldataload(add(pubSignals, 288)))
                
                g1_mulAccC(_pVk, IC11x, IC11y, calldataload(add(pubSignals, 320)))
                

                // -A
                mstore(_pPairing, calldataload(pA))
                mstore(add(_pPairing, 32), mod(sub(q, calldataload(add(pA, 32))), q))

                // B
                mstore(add(_pPairing, 64), calldataload(pB))
                mstore(add(_pPairing, 96), calldataload(add(pB, 32)))
                mstore(add(_pPairing, 128), calldataload(add(pB, 64)))
                mstore(add(_pPairing, 160), calldataload(add(pB, 96)))

                // alpha1
                mstore(add(_pPairing, 192), alphax)
                mstore(add(_pPairing, 224), alphay)

                // beta2
                mstore(add(_pPairing, 256), betax1)
                mstore(add(_pPairing, 288), betax2)
                mstore(add(_pPairing, 320), betay1)
                mstore(add(_pPairing, 352), betay2)

                // vk_x
                mstore(add(_pPairing, 384), mload(add(pMem, pVk)))
                mstore(add(_pPairing, 416), mload(add(pMem, add(pVk, 32))))


                // gamma2
                mstore(add(_pPairing, 448), gammax1)
                mstore(add(_pPairing, 480), gammax2)
                mstore(add(_pPairing, 512), gammay1)
                mstore(add(_pPairing, 544), gammay2)

                // C
                mstore(add(_pPairing, 576), calldataload(pC))
                mstore(add(_pPairing, 608), calldataload(add(pC, 32)))

                // delta2
                mstore(add(_pPairing, 640), deltax1)
                mstore(add(_pPairing, 672), deltax2)
                mstore(add(_pPairing, 704), deltay1)
                mstore(add(_pPairing, 736), deltay2)


                let success := staticcall(sub(gas(), 2000), 8, _pPairing, 768, _pPairing, 0x20)

                isOk := and(success, mload(_pPairing))
            }

            let pMem := mload(0x40)
            mstore(0x40, add(pMem, pLastMem))

            // Validate that all evaluations ∈ F
            
            checkField(calldataload(add(_pubSignals, 0)))
            
            checkField(calldataload(add(_pubSignals, 32)))
            
            checkField(calldataload(add(_pubSignals, 64)))
            
            checkField(calldataload(add(_pubSignals, 96)))
            
            checkField(calldataload(add(_pubSignals, 128)))
            
            checkField(calldataload(add(_pubSignals, 160)))
            
            checkField(calldataload(add(_pubSignals, 192)))
            
            checkField(calldataload(add(_pubSignals, 224)))
            
            checkField(calldataload(add(_pubSignals, 256)))
            
            checkField(calldataload(add(_pubSignals, 288)))
            
            checkField(calldataload(add(_pubSignals, 320)))
            

            // Validate all evaluations
            let isValid := checkPairing(_pA, _pB, _pC, _pubSignals, pMem)

            mstore(0, isValid)
             return(0, 0x20)
         }
     }
 }
